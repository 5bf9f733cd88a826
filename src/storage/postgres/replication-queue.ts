import type { BackfillCounts, BackfillScope, ReplicationQueue } from '../background.js';
import type { ChangeRow, ReplicatedFamily, ReplicatedUser, ReplicationEvent } from '../replication-records.js';
import type { Db, Queryable } from './db.js';
import { SQL } from './sql.js';

/**
 * The replication queue in PostgreSQL (migration 012): rows the relay copied
 * from the outbox, one per change and target region. A delivery claims a
 * target's oldest rows under a per-target advisory lock (so a region receives
 * another's changes in queue order), builds each event from the rows as they
 * are now (the receiver merges forward, so the newest state is always right),
 * hands the batch to `send` and deletes it once `send` resolved, all in one
 * transaction: a target that is down, slow or refuses leaves the batch queued.
 * The transaction stays open during `send`, which the region timeout bounds;
 * it locks only the queue rows it sends.
 */
export class PgReplicationQueue implements ReplicationQueue {
  constructor(private readonly db: Db) {}

  deliver(target: string, batch: number, send: (events: ReplicationEvent[]) => Promise<void>): Promise<number> {
    return this.db.transaction(async (tx) => {
      const lock = await tx.query<{ locked: boolean }>(SQL.lockReplicationTarget, [target]);
      if (!lock.rows[0]?.locked) return 0;
      const { rows } = await tx.query<ChangeRow & { id: string }>(SQL.claimReplication, [target, batch]);
      if (rows.length === 0) return 0;
      const events: ReplicationEvent[] = [];
      for (const r of rows) events.push(await buildEvent(tx, r.id, r));
      await send(events);
      await tx.query(SQL.deleteReplication, [rows.map((r) => r.id)]);
      return rows.length;
    });
  }

  async backlog(): Promise<Map<string, number>> {
    const { rows } = await this.db.query<{ target: string; backlog: number }>(SQL.countReplicationBacklog);
    return new Map(rows.map((r) => [r.target, r.backlog]));
  }

  backfill(target: string, what: BackfillScope, now: number): Promise<BackfillCounts> {
    const at = new Date(now);
    return this.db.transaction(async (tx) => ({
      users: what.users ? (await tx.query(SQL.backfillUsers, [target, what.self, at])).rows.length : 0,
      families: what.families ? (await tx.query(SQL.backfillFamilies, [target, what.self, at])).rows.length : 0,
      revocations: (await tx.query(SQL.backfillRevocations, [target, new Date(what.revocationsSince), at])).rows.length,
    }));
  }
}

const ms = (d: Date | string): number => new Date(d).getTime();

/** How one field of an event is read from a row: its column, and whether it is a time (epoch ms; null stays null). */
type Column = readonly [name: string, time?: 'time'];

function fromRow<T>(row: Record<string, unknown>, columns: { [K in keyof T]: Column }): T {
  const out: Record<string, unknown> = {};
  for (const [field, [name, time]] of Object.entries(columns) as [string, Column][]) {
    const v = row[name] ?? null;
    out[field] = time && v !== null ? ms(v as Date) : v;
  }
  return out as T;
}

const USER: { [K in keyof ReplicatedUser]: Column } = {
  id: ['id'],
  username: ['username'],
  usernameNormalized: ['username_normalized'],
  passwordHash: ['password_hash'],
  homeRegion: ['home_region'],
  disabled: ['disabled'],
  createdAt: ['created_at', 'time'],
  updatedAt: ['updated_at', 'time'],
  passwordChangedAt: ['password_changed_at', 'time'],
};
const FAMILY: { [K in keyof ReplicatedFamily]: Column } = {
  id: ['id'],
  userId: ['user_id'],
  region: ['region'],
  generation: ['generation'],
  createdAt: ['created_at', 'time'],
  expiresAt: ['expires_at', 'time'],
  lastUsedAt: ['last_used_at', 'time'],
  revokedAt: ['revoked_at', 'time'],
  revokedReason: ['revoked_reason'],
  jkt: ['dpop_jkt'],
  previousRotatedAt: ['previous_rotated_at', 'time'],
};

/** Builds the event for one queued change from the current rows (inside the sender's transaction). */
export async function buildEvent(tx: Queryable, id: string, row: ChangeRow): Promise<ReplicationEvent> {
  const event: ReplicationEvent = { id, kind: row.kind, at: ms(row.created_at), tokens: [] };
  if (row.kind === 'sessions_ended') {
    // The outbox row is the whole event: the user, the mark and the session kept.
    if (row.user_id) event.sessionsEnded = { userId: row.user_id, endedAt: event.at, kept: row.session_id };
    return event;
  }
  if (row.kind === 'user_deleted') {
    if (row.user_id) event.deletion = { userId: row.user_id, deletedAt: event.at };
    return event;
  }
  const family = row.session_id ? await readOne<ReplicatedFamily>(tx, SQL.replicationFamily, row.session_id, FAMILY) : null;
  if (row.kind === 'revoked') {
    if (family?.revokedAt != null)
      event.revocation = { sessionId: family.id, userId: family.userId, revokedAt: family.revokedAt, reason: family.revokedReason ?? 'revoked' };
    // The family went with its deleted user: the row still says which session ended, for whom and when.
    else if (!family && row.session_id && row.user_id)
      event.revocation = { sessionId: row.session_id, userId: row.user_id, revokedAt: event.at, reason: 'revoked' };
    return event;
  }
  // A rotation travels as the session's (generation, last_used_at) alone: its user went with the
  // session's 'created' event, which a target applies before it (one target's events go in order).
  const userId = row.kind === 'rotated' ? undefined : (row.user_id ?? family?.userId);
  const user = userId ? await readOne<ReplicatedUser>(tx, SQL.replicationUser, userId, USER) : null;
  if (user) event.user = user;
  if (family) event.family = family;
  return event;
}

async function readOne<T>(tx: Queryable, sql: string, id: string, columns: { [K in keyof T]: Column }): Promise<T | null> {
  const { rows } = await tx.query<Record<string, unknown>>(sql, [id]);
  return rows[0] ? fromRow(rows[0], columns) : null;
}
