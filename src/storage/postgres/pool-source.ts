import type pg from 'pg';
import { isAppError, unavailable } from '../../errors.js';
import { isUnavailableError } from './db.js';
import { findPrimary, isMultiHostUrl, type MultiHostUrl, parseMultiHostUrl } from './primary.js';

/** While no node takes writes, it is looked for again at most this often; requests in between get 503 at once. */
const RECHECK_MS = 250;
/** What a client is told to wait during a failover: pg_auto_failover promotes a standby within seconds. */
const FAILOVER_RETRY_AFTER_S = 2;

/**
 * Where PostgresDb gets its connections: the pool of the node that takes
 * writes now. A single-host URL has one pool for good; a multi-host URL has
 * one pool per primary in turn.
 */
export interface PoolSource {
  /** The current pool; throws a 503 AppError while no node takes writes. */
  get(): pg.Pool | Promise<pg.Pool>;
  /** A statement on `pool` failed with `err`: if that is a sign of failover, the next get() looks for the primary again. */
  failed(pool: pg.Pool, err: unknown): void;
  /** The pool that get() would return now without I/O, if any (for the pool gauges). */
  peek(): pg.Pool | undefined;
  end(): Promise<void>;
}

export type PoolFactory = (url: string) => pg.Pool;

/**
 * A node that went away (connection refused, reset, terminated by a
 * shutdown) or that refuses writes (25006: a demoted primary, or a standby
 * not yet confirmed by the monitor). Too many connections (53300) is not one:
 * the node is there, only busy.
 */
export function signalsFailover(err: unknown): boolean {
  // A failed connect reaches here already answered as a 503; its cause says why.
  const cause = isAppError(err) ? err.cause : err;
  const code = (cause as { code?: unknown } | null)?.code;
  return isUnavailableError(cause) && !(typeof code === 'string' && code.startsWith('53'));
}

/** The pools for the configured database URL. */
export function poolSource(url: string, make: PoolFactory): PoolSource {
  if (!isMultiHostUrl(url)) {
    const pool = make(url);
    return { get: () => pool, failed: () => {}, peek: () => pool, end: () => pool.end() };
  }
  return new FailoverPool(parseMultiHostUrl(url), make);
}

/**
 * The pool of the primary of a multi-host URL. One search runs at a time
 * and every caller waits for it; a failure that signals failover retires the
 * pool (its idle connections close, those in use close when given back) so
 * that no statement is sent to a node that stopped being the primary.
 */
class FailoverPool implements PoolSource {
  private current: pg.Pool | undefined;
  private finding: Promise<pg.Pool> | undefined;
  private quietUntil = 0;
  private readonly retiring = new Set<Promise<void>>();

  constructor(
    private readonly target: MultiHostUrl,
    private readonly make: PoolFactory,
  ) {}

  get(): pg.Pool | Promise<pg.Pool> {
    if (this.current) return this.current;
    this.finding ??= this.find().finally(() => {
      this.finding = undefined;
    });
    return this.finding;
  }

  private async find(): Promise<pg.Pool> {
    if (performance.now() < this.quietUntil) throw noPrimary();
    const node = await findPrimary(this.target);
    if (!node) {
      this.quietUntil = performance.now() + RECHECK_MS;
      throw noPrimary();
    }
    const pool = this.make(this.target.urlFor(node));
    // An idle connection dropping is the first sign of a primary gone while the region is quiet.
    pool.on('error', (err) => this.failed(pool, err));
    this.current = pool;
    return pool;
  }

  failed(pool: pg.Pool, err: unknown): void {
    if (pool !== this.current || !signalsFailover(err)) return;
    this.current = undefined;
    const ending = pool.end().catch(() => {});
    this.retiring.add(ending);
    void ending.finally(() => this.retiring.delete(ending));
  }

  peek(): pg.Pool | undefined {
    return this.current;
  }

  async end(): Promise<void> {
    await this.finding?.catch(() => {});
    const last = this.current;
    this.current = undefined;
    await Promise.all([last?.end(), ...this.retiring]);
  }
}

function noPrimary() {
  return unavailable('database', new Error('no PostgreSQL node takes writes (failover in progress?)'), FAILOVER_RETRY_AFTER_S);
}
