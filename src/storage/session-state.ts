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

/**
 * A version that orders the states of one session the way they happen: a
 * session only moves to a higher generation, and a revocation is final (no
 * rotation follows it), so (generation, revoked) orders every state. A
 * writer never replaces a version with a lower or equal one, so a late
 * event cannot undo a newer state.
 */
export const familyVersion = (f: FamilyState): number => f.generation * 2 + (f.revokedAt === null ? 0 : 1);
