import { readRefreshToken, type TokenRef } from './refresh-tokens.js';
import type { SessionStore } from './stores.js';

/** What a presented refresh token stands for, and its origin region. */
export interface PresentedToken {
  origin: string;
  /** Null for a previous-format token not held here. */
  ref: TokenRef | null;
}

/**
 * Reads a presented refresh token: null for one that is malformed or whose
 * MAC does not verify (decided without any I/O); a previous-format token is
 * looked up by its stored hash, once (see refresh-tokens.ts).
 */
export async function resolvePresented(token: string, key: Buffer, sessions: Pick<SessionStore, 'findLegacyToken'>): Promise<PresentedToken | null> {
  const read = readRefreshToken(token, key);
  if (read.kind === 'invalid') return null;
  if (read.kind === 'current') return { origin: read.region, ref: read.ref };
  return { origin: read.region, ref: await sessions.findLegacyToken(read.hash) };
}
