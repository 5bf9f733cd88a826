import type { DoubleSpendRule, ReplicaStore } from '../background.js';
import { type ReplicatedFamily, type ReplicationEvent, revocationOf } from '../replication-records.js';
import type { Db, Queryable } from './db.js';
import { SQL } from './sql.js';

const date = (t: number | null): Date | null => (t === null ? null : new Date(t));

/**
 * What this region holds of other regions' state: users, sessions and
 * revocations. Every write is a merge that only moves forward (the highest
 * generation, the earliest revocation; see the upsert-replica-*.sql files), so an event applied twice,
 * late or out of order ends where applying each once in order would. A
 * deleted user stays deleted: its id is kept (delete-replica-user.sql) and
 * never stored again, so neither can its families be (they need the user).
 */
export class PgReplicaStore implements ReplicaStore {
  constructor(private readonly db: Db) {}

  apply(e: ReplicationEvent, rule: DoubleSpendRule, now: number): Promise<{ doubleSpend: boolean }> {
    return this.db.transaction(async (tx) => {
      if (e.deletion) {
        await tx.query(SQL.deleteReplicaUser, [e.deletion.userId, date(e.deletion.deletedAt)]);
        return { doubleSpend: false };
      }
      if (e.user && e.kind === 'user_updated') {
        const u = e.user;
        await tx.query(SQL.updateReplicaUser, [u.id, u.passwordHash, u.disabled, date(u.updatedAt), date(u.passwordChangedAt)]);
      } else if (e.user) {
        const u = e.user;
        await tx.query(SQL.upsertReplicaUser, [
          u.id,
          u.username,
          u.usernameNormalized,
          u.passwordHash,
          u.homeRegion,
          u.disabled,
          date(u.createdAt),
          date(u.updatedAt),
          date(u.passwordChangedAt),
        ]);
      }
      let doubleSpend = false;
      if (e.family) {
        const f = e.family;
        doubleSpend = await spentTwice(tx, f, rule);
        await tx.query(SQL.upsertReplicaFamily, [
          f.id,
          f.userId,
          f.region,
          f.generation,
          date(f.createdAt),
          date(f.expiresAt),
          date(f.lastUsedAt),
          date(f.revokedAt),
          f.revokedReason,
          f.jkt ?? null,
          date(f.previousRotatedAt ?? null),
        ]);
      }
      const rev = revocationOf(e);
      if (rev) await tx.query(SQL.recordReplicatedRevocation, [rev.sessionId, rev.userId, date(rev.revokedAt), date(now), rev.reason]);
      return { doubleSpend };
    });
  }
}

/**
 * True when `rule` says the session as another region sends it and as it is
 * held here spent one generation twice. Locks the row first (see
 * lock-replica-spend.sql), so a local rotation of it cannot race the check.
 */
async function spentTwice(tx: Queryable, there: ReplicatedFamily, rule: DoubleSpendRule): Promise<boolean> {
  const { rows } = await tx.query<{ generation: number; last_used_at: Date; previous_rotated_at: Date | null }>(SQL.lockReplicaSpend, [there.id]);
  const here = rows[0];
  if (!here) return false;
  const previousRotatedAt = here.previous_rotated_at === null ? null : new Date(here.previous_rotated_at).getTime();
  return rule(there, { generation: here.generation, rotatedAt: new Date(here.last_used_at).getTime(), previousRotatedAt });
}
