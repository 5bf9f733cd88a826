import type { RefreshState } from '../../auth/stores.js';
import type { Metrics } from '../../observability/metrics.js';
import type { Clock } from '../../util/runtime.js';
import type { RedisKeys } from '../redis/keys.js';
import { type FamilyState, familyVersion, joinState, type SessionChange, type TokenState, tokenVersion } from '../session-state.js';
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

const TOKEN_FIELDS = ['tokenHash', 'sessionId', 'generation', 'consumedAt', 'expiresAt'] as const;
const FAMILY_FIELDS = ['sessionId', 'userId', 'username', 'disabled', 'region', 'generation', 'expiresAt', 'revokedAt', 'jkt'] as const;

/**
 * The refresh-token states in the cache: one entry per token (its
 * generation, consumption, expiry) and one per family (generation,
 * revocation, expiry, user), each expiring when what it describes does.
 * A revoked family stays cached until it expires: the negative cache that
 * answers floods of dead tokens without the database.
 *
 * Nothing here decides anything. The cache may be stale or partial at any
 * moment; SessionService trusts a cached state only where PostgreSQL
 * re-checks it or where it can only move one way (see sessions.ts).
 */
export class RefreshCache {
  constructor(
    private readonly store: VersionedStore,
    private readonly keys: RedisKeys,
    private readonly clock: Clock,
    private readonly metrics: Metrics,
  ) {}

  /** The cached state of a token; null on a miss (either half absent). Throws when the cache is unreachable. */
  async lookup(tokenHash: string): Promise<RefreshState | null> {
    // The token entry names its family's: both come back in one round trip.
    const [tokenData, familyData] = await this.store.getWithRef(this.keys.refreshToken(tokenHash), 'sessionId', this.keys.familyPrefix);
    const token = parse<TokenState>(tokenData, TOKEN_FIELDS);
    if (!token || token.tokenHash !== tokenHash) return null;
    const family = parse<FamilyState>(familyData, FAMILY_FIELDS);
    if (!family || family.sessionId !== token.sessionId) return null;
    return joinState(token, family, 'cache');
  }

  /**
   * Writes the states a change left, in one command. Each entry only moves
   * forward (see `familyVersion`); one whose subject has expired is not
   * written. Throws when the write fails, after counting it.
   */
  async write(change: SessionChange, writer: CacheWriter): Promise<void> {
    const now = this.clock.now();
    const entries: VersionedEntry[] = [];
    const add = (key: string, version: number, value: TokenState | FamilyState, expiresAt: number) => {
      if (expiresAt > now) entries.push({ key, version, data: JSON.stringify(value), ttlMs: expiresAt - now });
    };
    for (const f of change.families) add(this.keys.family(f.sessionId), familyVersion(f), f, f.expiresAt);
    for (const t of change.tokens) add(this.keys.refreshToken(t.tokenHash), tokenVersion(t), t, t.expiresAt);
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
