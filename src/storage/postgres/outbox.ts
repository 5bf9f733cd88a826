import type { OutboxStore, PendingRevocation, TargetsOf } from '../background.js';
import type { ChangeRow } from '../replication-records.js';
import type { Db } from './db.js';
import { SQL } from './sql.js';

/**
 * The transactional outbox (migrations 002 and 015). Rows are written by the
 * statements that change state, in the same statement; this is the relay's
 * side: the fan-out to the replication queue, in PostgreSQL alone, and the
 * bookkeeping of the cache sync, whose Redis call the caller makes between
 * `unsyncedRevocations` and `markSynced`, outside any transaction.
 */
export class PgOutbox implements OutboxStore {
  constructor(private readonly db: Db) {}

  fanOut(batch: number, targets: TargetsOf | undefined, now: number): Promise<number> {
    return this.db.transaction(async (tx) => {
      const { rows } = await tx.query<ChangeRow & { id: string }>(SQL.claimOutbox, [batch]);
      if (rows.length === 0) return 0;
      if (targets) {
        const cols: [string[], string[], (string | null)[], (string | null)[], string[], Date[]] = [[], [], [], [], [], []];
        for (const r of rows) {
          for (const target of targets(r)) {
            cols[0].push(target);
            cols[1].push(r.kind);
            cols[2].push(r.session_id);
            cols[3].push(r.user_id);
            cols[4].push(r.token_hashes.join(','));
            cols[5].push(new Date(r.created_at));
          }
        }
        if (cols[0].length) await tx.query(SQL.enqueueReplication, cols);
      }
      await tx.query(SQL.markOutboxSent, [rows.map((r) => r.id), new Date(now)]);
      return rows.length;
    });
  }

  async unsyncedRevocations(batch: number): Promise<PendingRevocation[]> {
    const { rows } = await this.db.query<{ id: string; session_id: string; generation: number }>(SQL.listUnsyncedRevocations, [batch]);
    return rows.map((r) => ({ id: r.id, sessionId: r.session_id, generation: r.generation }));
  }

  async markSynced(ids: readonly string[], now: number): Promise<void> {
    await this.db.query(SQL.markOutboxSynced, [ids, new Date(now)]);
  }

  async backlog(): Promise<number> {
    const { rows } = await this.db.query<{ backlog: number }>(SQL.countOutboxBacklog);
    return rows[0]?.backlog ?? 0;
  }
}
