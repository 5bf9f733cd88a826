import type { CleanupInput, CleanupResult, Maintenance, Stats } from '../background.js';
import type { Db } from './db.js';
import { SQL } from './sql.js';

/** Rows per statement: each batch is its own short statement, so locks are held briefly. */
const BATCH = 500;
/** Batches per table per run; what is left waits for the next run rather than making this one long. */
const MAX_BATCHES = 200;

/**
 * Cleanup and the counts behind the gauges. Cleanup deletes refresh tokens
 * past their expiry, then families past theirs, then outbox rows the relay is
 * done with, then other regions' revocations whose families have all
 * expired, each in small batches (see the SQL files for the locking).
 * Idempotent: a run cut short anywhere leaves only committed batches behind,
 * and the next run deletes the rest.
 */
export class PgMaintenance implements Maintenance, Stats {
  constructor(private readonly db: Db) {}

  async cleanup(input: CleanupInput): Promise<CleanupResult> {
    const now = new Date(input.now);
    return {
      tokens: await this.drain(SQL.deleteExpiredTokens, [now]),
      sessions: await this.drain(SQL.deleteExpiredSessions, [now, new Date(input.keepRevokedSince)]),
      outbox: await this.drain(SQL.deleteSentOutbox, []),
      revocations: await this.drain(SQL.deleteOldReplicatedRevocations, [new Date(input.keepForeignRevocationsSince)]),
    };
  }

  async activeSessions(now: number, idleSeconds: number): Promise<number> {
    const r = await this.db.query<{ count: number }>(SQL.countActiveSessions, [new Date(now), new Date(now - idleSeconds * 1000)]);
    return Number(r.rows[0]?.count ?? 0);
  }

  private async drain(sql: string, params: unknown[]): Promise<number> {
    let total = 0;
    for (let i = 0; i < MAX_BATCHES; i++) {
      const { rows } = await this.db.query(sql, [...params, BATCH]);
      total += rows.length;
      if (rows.length < BATCH) break;
    }
    return total;
  }
}
