import type { NewSession, RefreshState, RevocationReason, Rotation, SessionStore, SessionSummary } from '../../auth/stores.js';
import type { Audit } from '../../observability/audit.js';
import type { Metrics } from '../../observability/metrics.js';
import type { RedisRotations } from '../redis/rotations.js';
import { type FamilyState, familyOf } from '../session-state.js';
import type { SessionStorage } from '../storage.js';
import type { RefreshCache } from './refresh-cache.js';

/** Whether `a` is a later state of the session than `b`, by (generation, when it was minted). */
const isLater = (a: FamilyState, b: FamilyState): boolean => a.generation > b.generation || (a.generation === b.generation && a.rotatedAt > b.rotatedAt);

/**
 * The session store of write-behind rotation (MERIDIAN_REFRESH_WRITES=write-behind).
 * A rotation is a compare-and-set of the session's entry in the region's
 * Redis (rotate-session-2.lua), noted there for the worker, which writes it
 * to PostgreSQL within about 100 ms (src/jobs/rotation-flush.ts). Everything
 * else stays synchronous in PostgreSQL: logins, every revocation (its
 * write-through outranks any live state in the cache, see `familyVersion`),
 * so a revocation is never only in Redis.
 *
 * The cache is therefore ahead of PostgreSQL by the rotations not flushed
 * yet. A consistent read takes the revocation, expiry and user from
 * PostgreSQL and the later generation of the two. With Redis unreachable a
 * rotation is made in PostgreSQL at once; a token of a generation that was
 * rotated in Redis but not flushed is then ahead of PostgreSQL, and accepted
 * as the live one (see refresh-policy.ts): no user is logged out. What a lost
 * Redis costs is stated in docs/architecture.md ("Write-behind rotation").
 */
export class WriteBehindSessionStore implements SessionStore {
  /**
   * Sessions this process changed in PostgreSQL while Redis could not be told (rotations it made there
   * instead, revocations whose write-through failed): their cache entries may be behind, so they are
   * read at the source until their state has been written to Redis again (`repair`).
   */
  private readonly behind = new Set<string>();
  /** Whether the last Redis operation of this store failed. */
  private failing = false;
  private repairing: Promise<void> | undefined;

  constructor(
    private readonly db: SessionStorage,
    private readonly cache: RefreshCache,
    private readonly rotations: RedisRotations,
    private readonly audit: Audit,
    private readonly metrics: Metrics,
  ) {}

  async findSession(sessionId: string, opts?: { consistent?: boolean }): Promise<RefreshState | null> {
    if (this.behind.size > 0 && !this.failing) this.repairing ??= this.repair().finally(() => (this.repairing = undefined));
    const cached = await this.fromCache(sessionId);
    if (cached && !opts?.consistent && !this.behind.has(sessionId)) return cached;
    const stored = await this.db.findSession(sessionId);
    if (!stored) return null;
    if (cached === undefined) return stored;
    const storedIsLater = !cached || isLater(stored, cached);
    const { generation, rotatedAt } = storedIsLater ? stored : cached;
    const merged: RefreshState = { ...stored, generation, rotatedAt };
    // The cache is brought up to PostgreSQL where it is behind: a rotation made there while Redis was
    // away (so the compare-and-set in Redis starts from the generation decided on), or a revocation
    // whose write-through failed.
    if (storedIsLater || (stored.revokedAt !== null && cached.revokedAt === null) || stored.jkt !== cached.jkt)
      await this.cache.tryWrite({ families: [familyOf(merged)] }, 'fill');
    return merged;
  }

  /** The cached state; null on a miss, undefined when Redis cannot be reached. */
  private async fromCache(sessionId: string): Promise<RefreshState | null | undefined> {
    try {
      const state = await this.cache.lookup(sessionId);
      this.failing = false;
      this.audit('cache.lookup', { operation: 'refresh_state', result: state ? 'hit' : 'miss', sessionId, userId: state?.userId });
      return state;
    } catch {
      this.failing = true;
      this.audit('cache.lookup', { operation: 'refresh_state', result: 'error' });
      return undefined;
    }
  }

  /** Writes the current state of the sessions left behind into Redis, once it answers again. */
  private async repair(): Promise<void> {
    for (const sessionId of [...this.behind]) {
      const state = await this.db.findSession(sessionId);
      try {
        if (state) await this.cache.write({ families: [familyOf(state)] }, 'sync');
      } catch {
        this.failing = true;
        return;
      }
      this.behind.delete(sessionId);
    }
  }

  /** Notes sessions changed in PostgreSQL while Redis is failing: their write-through may have been lost. */
  private noteBehind(sessionIds: readonly string[]): void {
    if (this.failing) for (const id of sessionIds) this.behind.add(id);
  }

  async rotate(x: Rotation): Promise<boolean> {
    // Binding a session to a DPoP key is a security property, never only in Redis: it is made in PostgreSQL
    // (which may lag the cache by unflushed rotations) and written through; the cache entry left behind is
    // ahead-checked by the next refresh (see cachedDecisionStands).
    if (x.jkt && !x.from.jkt) return this.db.rotate({ ...x, storeMayLag: true });
    const next: FamilyState = { ...familyOf(x.from), generation: x.generation, rotatedAt: x.now };
    const rotation = {
      sessionId: x.from.sessionId,
      from: x.from.generation,
      generation: x.generation,
      data: JSON.stringify(next),
      ttlMs: next.expiresAt - x.now,
      now: x.now,
    };
    try {
      let result = await this.rotations.rotate(rotation);
      if (result === 'missing') {
        // Flushed or restarted Redis: the state decided on becomes the entry, then the rotation is made on it.
        await this.cache.write({ families: [familyOf(x.from)] }, 'fill');
        result = await this.rotations.rotate(rotation);
      }
      this.failing = false;
      this.metrics.rotationWrites.inc({ store: 'redis', result: result === 'rotated' ? 'rotated' : 'moved' });
      return result === 'rotated';
    } catch {
      // Redis unreachable: PostgreSQL rotates at once, as in synchronous mode; the cache entry is now behind.
      this.failing = true;
      this.behind.add(x.from.sessionId);
      const rotated = await this.db.rotate(x);
      this.metrics.rotationWrites.inc({ store: 'postgres', result: rotated ? 'rotated' : 'moved' });
      return rotated;
    }
  }

  create(session: NewSession): Promise<boolean> {
    return this.db.create(session);
  }

  findLegacyToken(tokenHash: string): Promise<{ sessionId: string; generation: number } | null> {
    return this.db.findLegacyToken(tokenHash);
  }

  async revoke(sessionId: string, userId: string, now: number, reason: RevocationReason): Promise<boolean> {
    const revoked = await this.db.revoke(sessionId, userId, now, reason);
    if (revoked) this.noteBehind([sessionId]);
    return revoked;
  }

  async revokeAllForUser(userId: string, now: number, reason: RevocationReason, except?: string): Promise<string[]> {
    const ids = await this.db.revokeAllForUser(userId, now, reason, except);
    this.noteBehind(ids);
    return ids;
  }

  listForUser(userId: string, now: number, idleSince: number): Promise<SessionSummary[]> {
    return this.db.listForUser(userId, now, idleSince);
  }

  revokedSince(since: number): Promise<{ id: string; revokedAt: number }[]> {
    return this.db.revokedSince(since);
  }
}
