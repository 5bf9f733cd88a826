/**
 * The narrow database contract every repository is written against. Two
 * drivers implement it (node-postgres and embedded PGlite) and run the very
 * same SQL files.
 */

export interface QueryResult<R> {
  rows: R[];
  rowCount: number;
}

export interface Queryable {
  /** One parameterised statement. */
  query<R = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<QueryResult<R>>;
  /** Several statements without parameters (migrations). */
  exec(text: string): Promise<void>;
}

export interface Db extends Queryable {
  readonly kind: 'postgres' | 'pglite';
  /**
   * Runs `fn` in one transaction; commits when it resolves, rolls back when it
   * throws. Serialization failures and deadlocks are retried a few times.
   */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Adds a statement observer (metrics, query counting in tests). */
  observe(observer: QueryObserver): void;
  /** Connection pool occupancy, read without I/O (for the pool gauges). */
  poolStats(): PoolStats;
  close(): Promise<void>;
}

/** How busy the connection pool is right now. */
export interface PoolStats {
  /** Most connections the pool may open. */
  max: number;
  /** Connections checked out by a statement or transaction. */
  inUse: number;
  /** Callers queued for a connection because all `max` are in use. */
  waiting: number;
}

/** Called after each statement; feeds the DB-load metrics and query counting in tests. */
/** `shard`: which of a sharded region's databases ran it (unset in a region of one). */
export type QueryObserver = (event: { statement: string; seconds: number; ok: boolean; shard?: string }) => void;

/** The first keyword of a statement after its header comments, e.g. "select". */
export function statementKind(text: string): string {
  const m = /^(?:\s*--[^\n]*\n|\s+)*(\w+)/.exec(text);
  const word = (m?.[1] ?? 'other').toLowerCase();
  // A CTE is a write when it holds one; name it by its first data-changing verb.
  if (word === 'with') {
    const w = /\b(insert|update|delete)\b/i.exec(text);
    return w ? w[1]!.toLowerCase() : 'select';
  }
  return word;
}

/**
 * A named prepared statement that this connection cannot run as prepared: a
 * migration changed the type of a column it returns (0A000), or the server
 * side does not hold it (26000: a restarted server behind a pooler). Parsed
 * again, on a fresh connection, it runs.
 */
export function isStaleStatement(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === '26000' || (code === '0A000' && /cached plan must not change result type/.test(String((err as Error).message)));
}

/**
 * Text PostgreSQL refuses to store or compare: a NUL byte (22021) or a
 * character the database encoding lacks (22P05). It can only have come from a
 * client, so it is that client's bad request, never a 500.
 */
export function isUnstorableText(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === '22021' || code === '22P05';
}

/** A write to a slot that is being moved to another shard, or has been (migration 023's guard). */
export const SLOT_MOVING = 'MR001';

/**
 * Whether a statement's error has a SQLSTATE that `test` accepts, as the driver passes it on: the
 * error itself, or the cause of the AppError it became (whose own code is the public one).
 */
function hasSqlState(err: unknown, test: (state: string) => boolean): boolean {
  const e = err as { code?: unknown; cause?: { code?: unknown } } | null;
  return [e?.code, e?.cause?.code].some((c) => typeof c === 'string' && test(c));
}

/** The guard's refusal. */
export const isSlotMoving = (err: unknown): boolean => hasSqlState(err, (s) => s === SLOT_MOVING);

/** A row a constraint refused (class 23: a foreign key, a unique key, a check). */
export const isIntegrityViolation = (err: unknown): boolean => hasSqlState(err, (s) => /^23[0-9A-Z]{3}$/.test(s));

/** PostgreSQL SQLSTATEs worth retrying the whole transaction for. */
export const RETRYABLE_SQLSTATES = new Set(['40001', '40P01']);

/**
 * SQLSTATEs and Node error codes that mean "the database cannot be reached or
 * is not accepting work right now": answered with 503, never 500. A write
 * refused as read-only (25006) is one: during a failover the node a
 * connection reached is a demoted primary or a standby not yet confirmed.
 */
export function isUnavailableError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (/^(08|53|57P0[1-3])/.test(code) || code === '25006') return true;
    if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'EAI_AGAIN'].includes(code)) return true;
  }
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|connection is closed|Query read timeout/i.test(
    err.message,
  );
}

/** Where a migration reports what an operator must act on. */
export interface MigrationLog {
  warn(fields: object, message: string): void;
}

/**
 * A migration that needs values SQL cannot compute (e.g. Unicode case
 * folding) runs this instead of its SQL file; it runs the file itself, when
 * it has prepared what the file reads.
 */
export type MigrationStep = (tx: Queryable, sql: string, log: MigrationLog) => Promise<void>;
