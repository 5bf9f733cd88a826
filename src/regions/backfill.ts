import type { BackfillCounts, ReplicationQueue } from '../storage/background.js';
import { targetsOf } from './targets.js';
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

export type BackfillResult = BackfillCounts;

/**
 * Queues this region's current state for one target region, by the same
 * rules as live replication (targetsOf): its users if the target is a peer,
 * its live families if the target holds replicas of this region, and recent
 * revocations always. The region's senders deliver the queue as usual, and
 * the target's merge makes a repeated backfill harmless. Without it, a region
 * added to the topology still serves older users and families, by proxy.
 */
export async function backfill(queue: Pick<ReplicationQueue, 'backfill'>, x: BackfillInput): Promise<BackfillResult> {
  if (x.target === x.self || !x.topology.regions.some((r) => r.id === x.target)) {
    throw new Error(`region ${x.target} is not another region of the topology`);
  }
  const goes = (kind: 'user_created' | 'created') => targetsOf(kind, `${x.self}_`, x.self, x.topology).includes(x.target);
  return queue.backfill(
    x.target,
    { users: goes('user_created'), families: goes('created'), revocationsSince: x.now - x.accessLifetimeMs, self: x.self },
    x.now,
  );
}
