import type { ReplicationKind } from '../storage/replication-records.js';
import { regionOf } from '../util/runtime.js';
import type { Topology } from './topology.js';

/**
 * The regions a change made in `self` goes to. Revocations (and the end of
 * every session of a user) go to every region, so that every verifier refuses the session's access tokens, and so
 * do changes to users and their deletions: a region that is no peer of the
 * home may still hold the user (a copy that came with a family from a peer, a
 * backfill, a topology changed since); one that holds none stores nothing
 * of a change, and keeps only the id of a deletion. A new
 * user goes to its home's nearby regions (the peers), for local logins. A
 * family lives in its origin region and is replicated to the origin's peers
 * and to its user's home region, and only there: wherever it is rotated (a replica may rotate it), the
 * change goes to the origin and the origin's peers, so every region holding
 * a copy hears of every rotation directly, and the origin is where double
 * spends meet.
 */
export function targetsOf(kind: ReplicationKind, sessionId: string | null, self: string, topology: Topology, userId: string | null = null): string[] {
  const peersOf = (id: string) => topology.regions.find((r) => r.id === id)?.peers ?? [];
  let targets: string[];
  if (kind === 'revoked' || kind === 'sessions_ended' || kind === 'user_deleted' || kind === 'user_updated') {
    targets = topology.regions.map((r) => r.id);
  } else if (kind === 'user_created') {
    targets = [...peersOf(self)];
  } else {
    const origin = (sessionId && regionOf(sessionId)) || self;
    // And the user's home: every session of a user is known there, so the home lists it and ends it
    // (a password change, a disable) even when it began in a region that is no peer of the home.
    const home = userId ? regionOf(userId) : undefined;
    targets = [origin, ...peersOf(origin), ...(home ? [home] : [])];
  }
  const known = new Set(topology.regions.map((r) => r.id));
  return [...new Set(targets)].filter((t) => t !== self && known.has(t));
}
