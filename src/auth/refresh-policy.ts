import type { RefreshState } from './stores.js';

/**
 * What to do with a presented refresh token, decided from the generation it
 * stands for and one read of its session. Pure: the same state and time
 * always give the same answer, so the rules can be tested one by one and the
 * state may come from a cache or a replica.
 */
export type RefreshDecision =
  /**
   * The token is the session's live one, or a later one (`ahead`): minted by
   * a rotation this copy of the session has not heard of yet (another
   * region's, a replica's). Its MAC proves the service minted it, and a
   * generation is minted only by rotating the one before, so the family did
   * reach it: it is rotated as the live token.
   */
  | { kind: 'rotate'; next: number; ahead: boolean }
  /** A retry of the token just rotated, inside the grace window: the same successor again. */
  | { kind: 'grace'; generation: number }
  /** An older token presented again: the family must be revoked. */
  | { kind: 'reuse' }
  | { kind: 'reject'; reason: RejectReason };

export type RejectReason = 'unknown' | 'revoked' | 'expired' | 'idle_expired' | 'disabled';

export interface RefreshRules {
  graceMs: number;
  /** How long the live token lives after it was minted (never past the session's absolute expiry). */
  idleMs: number;
}

export function decideRefresh(state: RefreshState | null, presented: number, now: number, rules: RefreshRules): RefreshDecision {
  if (!state) return { kind: 'reject', reason: 'unknown' };
  if (state.revokedAt !== null) return { kind: 'reject', reason: 'revoked' };
  if (state.expiresAt <= now) return { kind: 'reject', reason: 'expired' };
  if (state.disabled) return { kind: 'reject', reason: 'disabled' };
  if (presented > state.generation) return { kind: 'rotate', next: presented + 1, ahead: true };
  if (presented === state.generation) {
    if (idleExpiry(state, rules) <= now) return { kind: 'reject', reason: 'idle_expired' };
    return { kind: 'rotate', next: presented + 1, ahead: false };
  }
  // Only a retry of the token just rotated, inside the window, is benign: its
  // successor is still the live token, so answering with it starts no branch.
  if (presented === state.generation - 1 && now - state.rotatedAt <= rules.graceMs) return { kind: 'grace', generation: state.generation };
  return { kind: 'reuse' };
}

/** When the live token of a session stops refreshing: idle since it was minted, or the session's end. */
export function idleExpiry(state: Pick<RefreshState, 'rotatedAt' | 'expiresAt'>, rules: Pick<RefreshRules, 'idleMs'>): number {
  return Math.min(state.expiresAt, state.rotatedAt + rules.idleMs);
}

/**
 * Whether a decision made from a cached state may stand. A cached state may
 * be stale, partial or missing, so it is trusted only where that cannot
 * matter: for what only ever moves one way (revoked, expired) and for a
 * rotation of the generation the copy holds, which the compare-and-set
 * re-checks in the same step that makes it.
 * Unknown, grace, reuse, idle (a rotation the cache missed moves the idle
 * clock) and disabled (an account can be enabled again, and the cache copies
 * the flag without a version) must be confirmed at the source of truth
 * (docs/architecture.md, "What a cached refresh state is trusted for").
 */
export function cachedDecisionStands(decision: RefreshDecision): boolean {
  // A token ahead of the cached copy says the copy is stale: what else it missed (a DPoP binding) is read first.
  if (decision.kind === 'rotate') return !decision.ahead;
  return decision.kind === 'reject' && (decision.reason === 'revoked' || decision.reason === 'expired');
}
