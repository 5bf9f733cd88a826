import type { RefreshState } from '../../auth/stores.js';
import type { Metrics } from '../../observability/metrics.js';
import type { Clock } from '../../util/runtime.js';
import type { RedisKeys } from '../redis/keys.js';
import { type FamilyState, familyVersion, type SessionChange } from '../session-state.js';
import type { VersionedEntry, VersionedStore } from './versioned-store.js';

/** Who wrote to the cache, for the metrics. */
export type CacheWriter = 'fill' | 'write_through' | 'sync';

function parse<T>(data: string | null, required: readonly (keyof T)[]): T | null {
  if (data === null) return null;
  try {
    const v = JSON.parse(data) as T;
    // An entry of another shape (an older build, a stray write) is a miss, never an answer.
    return v && typeof v === 'object' && required.every((k) => k in (v as object)) ? v : null;
  } catch {
    return null;
  }
}

const FAMILY_FIELDS = ['sessionId', 'userId', 'username', 'disabled', 'region', 'generation', 'rotatedAt', 'expiresAt', 'revokedAt', 'jkt'] as const;

/**
 * The session states in the cache: one entry per session (generation, when
 * it was minted, revocation, expiry, user), expiring when the session does.
 * A refresh token names its session, so one read answers a refresh. A
 * revoked session stays cached until it expires: the negative cache that
 * answers floods of dead tokens without the database.
 *
 * Nothing here decides anything. The cache may be stale or partial at any
 * moment; SessionService trusts a cached state only where PostgreSQL
 * re-checks it or where it can only move one way (see refresh-policy.ts).
 */
export class RefreshCache {
  constructor(
    private readonly store: VersionedStore,
    private readonly keys: RedisKeys,
    private readonly clock: Clock,
    private readonly metrics: Metrics,
  ) {}

  /** The cached state of a session; null on a miss. Throws when the cache is unreachable. */
  async lookup(sessionId: string): Promise<RefreshState | null> {
    const family = parse<FamilyState>(await this.store.get(this.keys.family(sessionId)), FAMILY_FIELDS);
    // An entry of another session (a stray write) is a miss, never an answer.
    return family && family.sessionId === sessionId ? { ...family, source: 'cache' } : null;
  }

  /**
   * Writes the states a change left, in one command. Each entry only moves
   * forward (see `familyVersion`); one whose subject has expired is not
   * written. Throws when the write fails, after counting it.
   */
  async write(change: SessionChange, writer: CacheWriter): Promise<void> {
    const now = this.clock.now();
    const entries: VersionedEntry[] = [];
    for (const f of change.families) {
      if (f.expiresAt > now) entries.push({ key: this.keys.family(f.sessionId), version: familyVersion(f), data: JSON.stringify(f), ttlMs: f.expiresAt - now });
    }
    if (entries.length === 0) return;
    let stored: boolean[];
    try {
      stored = await this.store.setIfNewer(entries);
    } catch (err) {
      this.metrics.cacheWrites.inc({ operation: writer, result: 'error' }, entries.length);
      throw err;
    }
    for (const s of stored) this.metrics.cacheWrites.inc({ operation: writer, result: s ? 'stored' : 'stale' });
  }

  /** `write` for callers that must not fail because of the cache (it is only an optimisation there). */
  async tryWrite(change: SessionChange, writer: CacheWriter): Promise<void> {
    await this.write(change, writer).catch(() => {});
  }
}
