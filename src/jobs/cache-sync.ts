import type { RevocationBus } from '../auth/revocation-sync.js';
import type { RefreshCache } from '../storage/cache/refresh-cache.js';
import type { PgSessionStore } from '../storage/postgres/repositories.js';
import { familyOf, type SessionChange, tokenOf } from '../storage/session-state.js';

/** One outbox row: which family changed, how, and which of its tokens. */
export interface SyncEvent {
  outboxId: string;
  kind: 'created' | 'rotated' | 'revoked';
  sessionId: string;
  /** The family's generation right after the change. */
  generation: number;
  tokenHashes: string[];
}

export interface CacheSyncDeps {
  sessions: PgSessionStore;
  cache: RefreshCache;
  /** Where revocations are announced to the API processes (absent with one process). */
  bus?: RevocationBus;
}

/**
 * Applies an outbox event to the cache. The event only names what changed;
 * the state written is read from PostgreSQL now, so a late event writes the
 * newest state rather than its own, and the versioned writes keep whatever
 * newer state the cache already has. Running it twice, or out of order,
 * leaves the cache as running it once in order. A revocation is also
 * announced again, for API processes that missed the first announcement.
 */
export function cacheSync(d: CacheSyncDeps): (event: SyncEvent) => Promise<void> {
  return async (event) => {
    const change = await currentState(d.sessions, event.sessionId, event.tokenHashes);
    await d.cache.write(change, 'sync');
    const family = change.families[0];
    if (event.kind === 'revoked' && d.bus && family?.revokedAt != null) await d.bus.publish(family.sessionId, family.revokedAt);
  };
}

/** The state PostgreSQL holds now for these tokens of a family (or, naming none, the family alone). */
export async function currentState(sessions: PgSessionStore, sessionId: string, tokenHashes: readonly string[]): Promise<SessionChange> {
  const states = [];
  for (const hash of tokenHashes) {
    const s = await sessions.findRefreshState(hash);
    if (s) states.push(s);
  }
  if (states.length > 0) return { tokens: states.map(tokenOf), families: [familyOf(states.at(-1)!)] };
  // A revocation names no token; a family already cleaned up leaves nothing to write.
  const family = await sessions.findFamily(sessionId);
  return { tokens: [], families: family ? [family] : [] };
}
