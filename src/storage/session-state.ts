import type { RefreshState } from '../auth/stores.js';

/**
 * A RefreshState split in its two halves, as the cache keeps them: what one
 * refresh token knows, and what every token of its family shares. A change
 * to a family (rotation, revocation) then rewrites one family entry instead
 * of every token entry of the family.
 */

export interface TokenState {
  tokenHash: string;
  sessionId: string;
  generation: number;
  consumedAt: number | null;
  expiresAt: number;
}

export interface FamilyState {
  sessionId: string;
  userId: string;
  username: string;
  disabled: boolean;
  region: string;
  generation: number;
  expiresAt: number;
  revokedAt: number | null;
  /** Set once (at login or the first refresh with a DPoP proof), never changed: see familyVersion. */
  jkt: string | null;
}

/** What one write to the session store changed, as the database holds it afterwards. */
export interface SessionChange {
  tokens: TokenState[];
  families: FamilyState[];
}

/** Told of every committed change (write-through to the cache). */
export type ChangeListener = (change: SessionChange) => Promise<void>;

export function tokenOf(s: RefreshState): TokenState {
  return { tokenHash: s.tokenHash, sessionId: s.sessionId, generation: s.tokenGeneration, consumedAt: s.consumedAt, expiresAt: s.tokenExpiresAt };
}

export function familyOf(s: RefreshState): FamilyState {
  return {
    sessionId: s.sessionId,
    userId: s.userId,
    username: s.username,
    disabled: s.disabled,
    region: s.region,
    generation: s.sessionGeneration,
    expiresAt: s.sessionExpiresAt,
    revokedAt: s.revokedAt,
    jkt: s.jkt,
  };
}

export function joinState(t: TokenState, f: FamilyState, source: RefreshState['source']): RefreshState {
  return {
    tokenHash: t.tokenHash,
    sessionId: f.sessionId,
    userId: f.userId,
    username: f.username,
    disabled: f.disabled,
    region: f.region,
    tokenGeneration: t.generation,
    consumedAt: t.consumedAt,
    tokenExpiresAt: t.expiresAt,
    sessionGeneration: f.generation,
    sessionExpiresAt: f.expiresAt,
    revokedAt: f.revokedAt,
    jkt: f.jkt,
    source,
  };
}

/**
 * Versions that order the states of one entry the way they happen: a family
 * only moves to a higher generation, and a revocation is final (no rotation
 * follows it), so (generation, revoked) orders every family state; a token
 * only goes from unconsumed to consumed. A writer never replaces a version
 * with a lower or equal one, so a late event cannot undo a newer state.
 */
export const familyVersion = (f: FamilyState): number => f.generation * 2 + (f.revokedAt === null ? 0 : 1);
export const tokenVersion = (t: TokenState): number => (t.consumedAt === null ? 0 : 1);
