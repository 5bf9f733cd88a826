import type { Db } from '../storage/postgres/db.js';
import { SQL } from '../storage/postgres/sql.js';
import { targetsOf } from './replication-events.js';
import type { Topology } from './topology.js';

export interface BackfillInput {
  /** This region. */
  self: string;
  /** The region to fill, typically one just added to the topology. */
  target: string;
  topology: Topology;
  now: number;
  /** Longest an access token stays acceptable: older revocations need not travel. */
  accessLifetimeMs: number;
}

export interface BackfillResult {
  users: number;
  families: number;
  revocations: number;
}

/**
 * Queues this region's current state for one target region, by the same
 * rules as live replication (targetsOf): its users if the target is a peer,
 * its live families if the target holds replicas of this region, and recent
 * revocations always. The region's senders deliver the queue as usual, and
 * the target's merge makes a repeated backfill harmless. Without it, a region
 * added to the topology still serves older users and families, by proxy.
 */
export async function backfill(db: Db, x: BackfillInput): Promise<BackfillResult> {
  if (x.target === x.self || !x.topology.regions.some((r) => r.id === x.target)) {
    throw new Error(`region ${x.target} is not another region of the topology`);
  }
  const goes = (kind: 'user_created' | 'created') => targetsOf(kind, `${x.self}_`, x.self, x.topology).includes(x.target);
  const now = new Date(x.now);
  return db.transaction(async (tx) => ({
    users: goes('user_created') ? (await tx.query(SQL.backfillUsers, [x.target, x.self, now])).rows.length : 0,
    families: goes('created') ? (await tx.query(SQL.backfillFamilies, [x.target, x.self, now])).rows.length : 0,
    revocations: (await tx.query(SQL.backfillRevocations, [x.target, new Date(x.now - x.accessLifetimeMs), now])).rows.length,
  }));
}
