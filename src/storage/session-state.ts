import type { RefreshState } from '../auth/stores.js';

/**
 * A session's state as the cache keeps it and as writes report it: the
 * refresh state without the note of where it was read. One entry per
 * session; a refresh token has no state of its own (see refresh-tokens.ts).
 */
export type FamilyState = Omit<RefreshState, 'source'>;

/** What one write to the session store changed, as the database holds it afterwards. */
export interface SessionChange {
  families: FamilyState[];
}

/** Told of every committed change (write-through to the cache). */
export type ChangeListener = (change: SessionChange) => Promise<void>;

export function familyOf(s: RefreshState): FamilyState {
  const { source: _, ...family } = s;
  return family;
}

/** Above every live version (generations are PostgreSQL integers, below 2^31). */
const REVOKED = 2 ** 32;

/**
 * A version that orders the states of one session the way they happen: a
 * live session only moves to a higher generation, and a revocation is final
 * (no rotation follows it), so a revoked state outranks every live one,
 * whatever generation each names: with write-behind rotation the cache may
 * hold a later generation than the revocation PostgreSQL reports. A writer
 * never replaces a version with a lower or equal one, so a late event cannot
 * undo a newer state. A live session's version is its generation
 * (rotate-session-2.lua compares it).
 */
export const familyVersion = (f: Pick<FamilyState, 'generation' | 'revokedAt'>): number => (f.revokedAt === null ? f.generation : REVOKED + f.generation);
