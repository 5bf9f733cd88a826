import type { RefreshState } from './stores.js';

/**
 * What to do with a presented refresh token, decided from one read of its
 * state. Pure: the same state and time always give the same answer, so the
 * rules can be tested one by one and the state may come from a cache.
 */
export type RefreshDecision =
  | { kind: 'rotate' }
  /** A retry inside the grace window: answer with the existing child again. */
  | { kind: 'grace'; childGeneration: number }
  /** A consumed token presented again: the family must be revoked. */
  | { kind: 'reuse' }
  | { kind: 'reject'; reason: RejectReason };

export type RejectReason = 'unknown' | 'revoked' | 'expired' | 'idle_expired' | 'disabled';

export interface RefreshRules {
  graceMs: number;
}

export function decideRefresh(state: RefreshState | null, now: number, rules: RefreshRules): RefreshDecision {
  if (!state) return { kind: 'reject', reason: 'unknown' };
  if (state.revokedAt !== null) return { kind: 'reject', reason: 'revoked' };
  if (state.sessionExpiresAt <= now) return { kind: 'reject', reason: 'expired' };
  if (state.disabled) return { kind: 'reject', reason: 'disabled' };
  if (state.consumedAt === null) {
    // An unconsumed token that is not the family's head cannot exist; treat it as reuse to be safe.
    if (state.tokenGeneration !== state.sessionGeneration) return { kind: 'reuse' };
    if (state.tokenExpiresAt <= now) return { kind: 'reject', reason: 'idle_expired' };
    return { kind: 'rotate' };
  }
  // Consumed. Only a retry of the token just rotated, inside the window, is benign:
  // its child is still the head, so answering with it again starts no new branch.
  const withinGrace = now - state.consumedAt <= rules.graceMs;
  const childIsHead = state.sessionGeneration === state.tokenGeneration + 1;
  if (withinGrace && childIsHead) return { kind: 'grace', childGeneration: state.sessionGeneration };
  return { kind: 'reuse' };
}

/**
 * Whether a decision made from a cached state may stand. A cached state may
 * be stale, partial or missing, so it is trusted only where that cannot
 * matter: for what only ever moves one way (revoked, expired, idle) and for a
 * rotation, which PostgreSQL re-checks in the same statement that makes it.
 * Unknown, grace, reuse and disabled (an account can be enabled again, and
 * the cache copies the flag without a version) must be confirmed at the source of truth
 * (docs/architecture.md, "What a cached refresh state is trusted for").
 */
export function cachedDecisionStands(decision: RefreshDecision): boolean {
  if (decision.kind === 'grace' || decision.kind === 'reuse') return false;
  return !(decision.kind === 'reject' && (decision.reason === 'unknown' || decision.reason === 'disabled'));
}
