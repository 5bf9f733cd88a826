import type { Config } from '../config/schema.js';
import type { Db } from '../storage/postgres/db.js';
import { SQL } from '../storage/postgres/sql.js';

/** Rows per statement: each batch is its own short statement, so locks are held briefly. */
const BATCH = 500;
/** Batches per table per run; what is left waits for the next run rather than making this one long. */
const MAX_BATCHES = 200;

export interface CleanupResult {
  tokens: number;
  sessions: number;
  outbox: number;
  /** Revocations received from other regions. */
  revocations: number;
}

export interface CleanupInput {
  now: number;
  /** Revoked families are kept until then (now - longest access-token lifetime): starting servers load revocations from them. */
  keepRevokedSince: number;
  /**
   * Revocations received for families this region does not hold are kept until then (now - the
   * absolute session lifetime): the family's own events may still arrive late, and must find it revoked.
   */
  keepForeignRevocationsSince: number;
}

/** The retention horizons cleanup runs with, from the token lifetimes. */
export function cleanupHorizons(config: Pick<Config, 'accessTokenTtl' | 'clockSkewSeconds' | 'refreshTokenTtl'>, now: number): CleanupInput {
  // Access tokens of a revoked session may be accepted until then; see delete-expired-sessions.sql.
  const accessLifetimeMs = (config.accessTokenTtl + 2 * config.clockSkewSeconds) * 1000;
  return { now, keepRevokedSince: now - accessLifetimeMs, keepForeignRevocationsSince: now - config.refreshTokenTtl * 1000 };
}

/**
 * Deletes refresh tokens past their expiry, then families past theirs, then
 * outbox rows already relayed, then other regions' revocations whose families
 * have all expired, each in small batches (see the SQL files for
 * the locking). Idempotent: a run cut short anywhere leaves only committed
 * batches behind, and the next run deletes the rest.
 */
export async function cleanup(db: Db, input: CleanupInput): Promise<CleanupResult> {
  const now = new Date(input.now);
  return {
    tokens: await drain(db, SQL.deleteExpiredTokens, [now]),
    sessions: await drain(db, SQL.deleteExpiredSessions, [now, new Date(input.keepRevokedSince)]),
    outbox: await drain(db, SQL.deleteSentOutbox, []),
    revocations: await drain(db, SQL.deleteOldReplicatedRevocations, [new Date(input.keepForeignRevocationsSince)]),
  };
}

async function drain(db: Db, sql: string, params: unknown[]): Promise<number> {
  let total = 0;
  for (let i = 0; i < MAX_BATCHES; i++) {
    const { rows } = await db.query(sql, [...params, BATCH]);
    total += rows.length;
    if (rows.length < BATCH) break;
  }
  return total;
}
