import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { AppError, unavailable } from '../../errors.js';
import {
  type Db,
  type PoolStats,
  type Queryable,
  type QueryObserver,
  type QueryResult,
  isSlotMoving,
  isStaleStatement,
  isUnavailableError,
  isUnstorableText,
  RETRYABLE_SQLSTATES,
  statementKind,
} from './db.js';
import { type PoolSource, poolSource } from './pool-source.js';
import { statementName } from './sql.js';

const MAX_TX_ATTEMPTS = 3;

export interface OpenOptions {
  databaseUrl: string | undefined;
  dataDir: string;
  poolSize: number;
  observer?: QueryObserver;
}

/**
 * Opens the configured database: PostgreSQL for a `postgres://` URL, an
 * in-memory PGlite for `memory://`, and otherwise PGlite stored under the
 * data directory (the embedded default).
 */
export async function openDatabase(opts: OpenOptions): Promise<Db> {
  const url = opts.databaseUrl;
  const observers = opts.observer ? [opts.observer] : [];
  if (url && /^postgres(ql)?:/.test(url)) return new PostgresDb(url, opts.poolSize, observers);
  if (url?.startsWith('memory:')) return PgliteDb.open(undefined, observers);
  mkdirSync(opts.dataDir, { recursive: true });
  return PgliteDb.open(join(opts.dataDir, 'pgdata'), observers);
}

/** Wraps a statement with timing, the observers and error translation. */
async function observed<R>(observers: QueryObserver[], text: string, run: () => Promise<QueryResult<R>>): Promise<QueryResult<R>> {
  const started = performance.now();
  let ok = false;
  try {
    const result = await run();
    ok = true;
    return result;
  } catch (err) {
    if (isUnavailableError(err)) throw unavailable('database', err);
    // A slot being moved to another shard: writes wait out the brief freeze (docs/scaling.md).
    if (isSlotMoving(err)) throw unavailable('slot being moved', err, 1);
    if (isUnstorableText(err)) throw new AppError('invalid_request', { cause: err, reason: 'text the database cannot store' });
    throw err;
  } finally {
    if (observers.length) {
      const event = { statement: statementKind(text), seconds: (performance.now() - started) / 1000, ok };
      for (const o of observers) o(event);
    }
  }
}

/**
 * Runs a transaction again after a serialization failure or deadlock, and
 * after a stale statement (its connection is dropped, so each retry takes
 * another one: up to `staleRetries` of them may hold stale copies too).
 */
async function withRetries<T>(attempt: () => Promise<T>, staleRetries = 0): Promise<T> {
  for (let failed = 0, stale = 0; ; ) {
    try {
      return await attempt();
    } catch (err) {
      if (isStaleStatement(err) && stale++ < staleRetries) continue;
      const code = (err as { code?: unknown }).code;
      if (++failed >= MAX_TX_ATTEMPTS || typeof code !== 'string' || !RETRYABLE_SQLSTATES.has(code)) throw err;
    }
  }
}

class PostgresDb implements Db {
  readonly kind = 'postgres' as const;
  private readonly pools: PoolSource;

  constructor(
    url: string,
    private readonly max: number,
    private readonly observers: QueryObserver[],
  ) {
    this.pools = poolSource(url, (nodeUrl) => {
      const pool = new pg.Pool({
        connectionString: nodeUrl,
        max,
        // Fail fast when the server is down so callers answer 503 quickly.
        connectionTimeoutMillis: 3000,
        idleTimeoutMillis: 30_000,
        query_timeout: 15_000,
      });
      // An idle client losing its connection must not crash the process.
      pool.on('error', () => {});
      return pool;
    });
  }

  /** Runs `use` on the primary's pool; a failure that means the primary is gone makes the next call look for it again. */
  private async onPool<T>(use: (pool: pg.Pool) => Promise<T>): Promise<T> {
    const pool = await this.pools.get();
    try {
      return await use(pool);
    } catch (err) {
      this.pools.failed(pool, err);
      throw err;
    }
  }

  query<R>(text: string, params: readonly unknown[] = []): Promise<QueryResult<R>> {
    return observed(this.observers, text, async () => {
      const name = statementName(text);
      const values = params as unknown[];
      // On an error the pool drops the connection; unnamed, the statement is parsed afresh wherever it runs.
      const r = await this.onPool((pool) =>
        pool.query({ name, text, values }).catch((err: unknown) => {
          if (name && isStaleStatement(err)) return pool.query({ text, values });
          throw err;
        }),
      );
      return { rows: r.rows as R[], rowCount: r.rowCount ?? 0 };
    });
  }

  async exec(text: string): Promise<void> {
    await observed(this.observers, text, async () => {
      await this.onPool((pool) => pool.query(text));
      return { rows: [], rowCount: 0 };
    });
  }

  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return withRetries(() => this.onPool((pool) => this.attempt(pool, fn)), this.max);
  }

  private async attempt<T>(pool: pg.Pool, fn: (tx: Queryable) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (err) {
      throw isUnavailableError(err) ? unavailable('database', err) : err;
    }
    let broken: Error | undefined;
    // The pool listens for errors only on idle clients. A checked-out client whose connection
    // drops emits 'error' too; unheard, it would end the process. The statement in flight fails
    // on its own, and the connection is not given back.
    const onError = (err: Error) => {
      broken ??= err;
    };
    client.on('error', onError);
    const tx: Queryable = {
      query: <R>(text: string, params: readonly unknown[] = []) =>
        observed(this.observers, text, async () => {
          const r = await client.query({ name: statementName(text), text, values: params as unknown[] });
          return { rows: r.rows as R[], rowCount: r.rowCount ?? 0 };
        }),
      exec: async (text) => {
        await observed(this.observers, text, async () => {
          await client.query(text);
          return { rows: [], rowCount: 0 };
        });
      },
    };
    try {
      await tx.exec('BEGIN');
      const result = await fn(tx);
      await tx.exec('COMMIT');
      return result;
    } catch (err) {
      // A connection whose prepared statements no longer fit the schema is not given back.
      if (isStaleStatement(err)) broken = err as Error;
      await client.query('ROLLBACK').catch((e: Error) => {
        broken = e;
      });
      throw err;
    } finally {
      client.removeListener('error', onError);
      client.release(broken);
    }
  }

  observe(observer: QueryObserver): void {
    this.observers.push(observer);
  }

  poolStats(): PoolStats {
    const pool = this.pools.peek();
    return { max: this.max, inUse: pool ? pool.totalCount - pool.idleCount : 0, waiting: pool?.waitingCount ?? 0 };
  }

  async close(): Promise<void> {
    await this.pools.end();
  }
}

type PGliteLike = {
  query<R>(text: string, params?: unknown[]): Promise<{ rows: R[]; affectedRows?: number }>;
  exec(text: string): Promise<unknown>;
};

function pgliteQueryable(target: PGliteLike, observers: QueryObserver[]): Queryable {
  return {
    query: <R>(text: string, params: readonly unknown[] = []) =>
      observed(observers, text, async () => {
        const r = await target.query<R>(text, params as unknown[]);
        return { rows: r.rows, rowCount: r.affectedRows || r.rows.length };
      }),
    exec: async (text) => {
      await observed(observers, text, async () => {
        await target.exec(text);
        return { rows: [], rowCount: 0 };
      });
    },
  };
}

/** The embedded default: PostgreSQL compiled to WASM, one connection, in-process. */
class PgliteDb implements Db {
  readonly kind = 'pglite' as const;
  private readonly q: Queryable;
  // PGlite runs one call at a time and queues the rest: calls in flight beyond the first are waiting.
  private inFlight = 0;

  private constructor(
    private readonly db: PGliteLike & {
      transaction<T>(fn: (tx: PGliteLike) => Promise<T>): Promise<T>;
      close(): Promise<void>;
    },
    private readonly observers: QueryObserver[],
  ) {
    this.q = pgliteQueryable(db, observers);
  }

  static async open(dir: string | undefined, observers: QueryObserver[]): Promise<PgliteDb> {
    // Loaded lazily: deployments on PostgreSQL never pay for the WASM module.
    const { PGlite } = await import('@electric-sql/pglite');
    const db = dir ? new PGlite(dir) : new PGlite();
    await db.waitReady;
    return new PgliteDb(db as never, observers);
  }

  query<R>(text: string, params?: readonly unknown[]): Promise<QueryResult<R>> {
    return this.track(() => this.q.query<R>(text, params));
  }

  exec(text: string): Promise<void> {
    return this.track(() => this.q.exec(text));
  }

  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.track(() => withRetries(() => this.db.transaction((tx) => fn(pgliteQueryable(tx, this.observers)))));
  }

  observe(observer: QueryObserver): void {
    this.observers.push(observer);
  }

  poolStats(): PoolStats {
    return { max: 1, inUse: Math.min(1, this.inFlight), waiting: Math.max(0, this.inFlight - 1) };
  }

  private async track<T>(run: () => Promise<T>): Promise<T> {
    this.inFlight++;
    try {
      return await run();
    } finally {
      this.inFlight--;
    }
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}
