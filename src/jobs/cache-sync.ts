import type { RevocationBus } from '../auth/revocation-sync.js';
import type { RefreshCache } from '../storage/cache/refresh-cache.js';
import type { SessionStorage } from '../storage/storage.js';
import { familyOf, type SessionChange } from '../storage/session-state.js';

/** One revocation from the outbox: the family that was revoked. */
export interface SyncEvent {
  outboxId: string;
  sessionId: string;
  /** The family's generation when it was revoked. */
  generation: number;
}

/**
 * What the relay queues: the event, and the two fields the previous release's
 * workers read, so that during a rolling upgrade they still apply it (they
 * announce only events of kind `revoked`).
 */
export type SyncJob = SyncEvent & { kind: 'revoked'; tokenHashes: string[] };

export interface CacheSyncDeps {
  sessions: Pick<SessionStorage, 'findSession'>;
  cache: RefreshCache;
  /** Where revocations are announced to the API processes (absent with one process). */
  bus?: RevocationBus;
}

/**
 * Applies a revocation to the cache and announces it again, for API
 * processes that missed the first announcement (their verifiers would
 * otherwise accept the session's access tokens until the database poll).
 * The family written is read from PostgreSQL now, and versioned writes keep
 * whatever newer state the cache has: running an event twice, or out of
 * order, leaves the cache as running it once in order.
 *
 * Logins and rotations have no sync job: the process that made one writes
 * it through, and a cache that missed it is only slower, never wrong (a
 * stale entry is re-checked by PostgreSQL, see sessions.ts). A job per
 * refresh would cost the database two reads per refresh.
 */
export function cacheSync(d: CacheSyncDeps): (event: SyncEvent) => Promise<void> {
  return async (event) => {
    const change = await currentState(d.sessions, event.sessionId);
    await d.cache.write(change, 'sync');
    const family = change.families[0];
    if (d.bus && family?.revokedAt != null) await d.bus.publish(family.sessionId, family.revokedAt);
  };
}

/** The state PostgreSQL holds now for a session (nothing when it was cleaned up). */
export async function currentState(sessions: Pick<SessionStorage, 'findSession'>, sessionId: string): Promise<SessionChange> {
  const state = await sessions.findSession(sessionId, { consistent: true });
  return { families: state ? [familyOf(state)] : [] };
}
