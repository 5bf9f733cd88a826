import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Refresh-token format: `<session id>.<generation>.<mac>`, where the session
 * id is `<region>_<26 chars>` (util/runtime.ts newId), the generation a
 * decimal counter, and the mac 43 base64url chars: HMAC-SHA256 under a key
 * only the service holds (derived from the master key, or from the topology
 * secret so that every region checks every region's tokens).
 *
 * The token is therefore its own lookup key: it names the session (and so
 * the region, and its row) and the generation it stands for, and nothing is
 * stored per token. A database dump holds session ids and generations but
 * not the key, so it yields no usable token; a forged or altered token fails
 * the MAC and is refused before any read. Every generation has exactly one
 * token, so the successor a grace-window retry gets is the very token the
 * first attempt got, recomputed.
 *
 * Tokens of the previous format (`<region>.<43 chars>`, random, stored as a
 * SHA-256 in refresh_tokens) are still recognised: they map to their
 * (session, generation) through that table, once, and their successor is of
 * this format.
 */

const CURRENT = /^(([a-z][a-z0-9-]{0,31})_[0-9a-z]{26})\.(0|[1-9][0-9]{0,9})\.([A-Za-z0-9_-]{43})$/;
const LEGACY = /^([a-z][a-z0-9-]{0,31})\.([A-Za-z0-9_-]{43})$/;

/** Generations are PostgreSQL integers; a rotation adds one. */
const MAX_GENERATION = 2 ** 31 - 2;

/** What a refresh token stands for: one generation of one session. */
export interface TokenRef {
  sessionId: string;
  generation: number;
}

export type ReadToken =
  /** The MAC verified: the token is one the service minted. */
  | { kind: 'current'; region: string; ref: TokenRef }
  /** A previous-format token: only its stored hash can say what it stands for. */
  | { kind: 'legacy'; region: string; hash: string }
  /** Not a token of either format, or a MAC that does not verify. */
  | { kind: 'invalid' };

function mac(key: Buffer, sessionId: string, generation: number): Buffer {
  // The prefix keeps these MACs apart from anything else ever computed under the same key.
  return createHmac('sha256', key).update(`meridian-refresh/1\0${sessionId}\0${generation}`).digest();
}

/** The one token of a session's generation. */
export function mintRefreshToken(ref: TokenRef, key: Buffer): string {
  return `${ref.sessionId}.${ref.generation}.${mac(key, ref.sessionId, ref.generation).toString('base64url')}`;
}

/** Reads a presented token: format first, then the MAC, all without any I/O. */
export function readRefreshToken(token: string, key: Buffer): ReadToken {
  const m = CURRENT.exec(token);
  if (m) {
    const [, sessionId, region, gen, sig] = m as unknown as [string, string, string, string, string];
    const generation = Number(gen);
    const given = Buffer.from(sig, 'base64url');
    // Canonical base64url only: 43 chars carry 258 bits, so two spellings could decode to the same MAC.
    if (generation > MAX_GENERATION || given.toString('base64url') !== sig) return { kind: 'invalid' };
    if (!timingSafeEqual(given, mac(key, sessionId, generation))) return { kind: 'invalid' };
    return { kind: 'current', region, ref: { sessionId, generation } };
  }
  const legacy = LEGACY.exec(token);
  if (legacy) return { kind: 'legacy', region: legacy[1] as string, hash: hashLegacyToken(token) };
  return { kind: 'invalid' };
}

/** How a previous-format token was stored. */
export function hashLegacyToken(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

/** The origin region of a token of either format, from its spelling alone (checked before any lookup). */
export function refreshTokenRegion(token: string): string | undefined {
  return CURRENT.exec(token)?.[2] ?? LEGACY.exec(token)?.[1];
}
