import type { NewSession, RefreshState, RevocationReason, Rotation, SessionStore, SessionSummary } from '../../auth/stores.js';
import type { Audit } from '../../observability/audit.js';
import type { SessionStorage } from '../storage.js';
import { familyOf } from '../session-state.js';
import type { RefreshCache } from './refresh-cache.js';

/**
 * A SessionStore that answers refresh lookups from the cache and everything
 * else from PostgreSQL. A lookup that may be answered from the cache (not
 * `consistent`) tries it first; a miss, or any cache error, reads PostgreSQL
 * and puts the answer into the cache. A cache error is never the caller's
 * problem: it is counted as a fallback and the database answers.
 *
 * Writes go to PostgreSQL only; the cache learns of them through the
 * store's change listener (write-through, wired in storage/shared.ts) and the
 * worker's cache sync.
 */
export class CachedSessionStore implements SessionStore {
  constructor(
    private readonly db: SessionStorage,
    private readonly cache: RefreshCache,
    private readonly audit: Audit,
  ) {}

  async findSession(sessionId: string, opts?: { consistent?: boolean }): Promise<RefreshState | null> {
    if (!opts?.consistent) {
      const cached = await this.fromCache(sessionId);
      if (cached) return cached;
    }
    const state = await this.db.findSession(sessionId);
    if (state) await this.cache.tryWrite({ families: [familyOf(state)] }, 'fill');
    return state;
  }

  findLegacyToken(tokenHash: string): Promise<{ sessionId: string; generation: number } | null> {
    return this.db.findLegacyToken(tokenHash);
  }

  private async fromCache(sessionId: string): Promise<RefreshState | null> {
    try {
      const state = await this.cache.lookup(sessionId);
      this.audit('cache.lookup', { operation: 'refresh_state', result: state ? 'hit' : 'miss', sessionId: state?.sessionId, userId: state?.userId });
      return state;
    } catch {
      // Counted as a fallback too (audit.ts): the database answers instead.
      this.audit('cache.lookup', { operation: 'refresh_state', result: 'error' });
      return null;
    }
  }

  create(session: NewSession): Promise<boolean> {
    return this.db.create(session);
  }

  rotate(rotation: Rotation): Promise<boolean> {
    return this.db.rotate(rotation);
  }

  revoke(sessionId: string, userId: string, now: number, reason: RevocationReason): Promise<boolean> {
    return this.db.revoke(sessionId, userId, now, reason);
  }

  revokeAllForUser(userId: string, now: number, reason: RevocationReason, except?: string): Promise<string[]> {
    return this.db.revokeAllForUser(userId, now, reason, except);
  }

  listForUser(userId: string, now: number, idleSince: number): Promise<SessionSummary[]> {
    return this.db.listForUser(userId, now, idleSince);
  }

  revokedSince(since: number): Promise<{ id: string; revokedAt: number }[]> {
    return this.db.revokedSince(since);
  }
}
