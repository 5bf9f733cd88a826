/**
 * The storage contracts the domain is written against. Times are epoch
 * milliseconds. PostgreSQL implements them in `storage/postgres/`; a cache may
 * sit in front of the read side, never in front of the writes.
 */

export interface NewUser {
  id: string;
  username: string;
  usernameNormalized: string;
  passwordHash: string;
  homeRegion: string;
  now: number;
}

export interface CreatedUser {
  id: string;
  username: string;
  homeRegion: string;
  createdAt: number;
}

export interface UserCredentials {
  id: string;
  username: string;
  passwordHash: string;
  disabled: boolean;
}

export interface UserStore {
  /** Inserts the user; null when the normalized username is taken. */
  insert(user: NewUser): Promise<CreatedUser | null>;
  findByUsername(usernameNormalized: string): Promise<UserCredentials | null>;
}

export interface NewSession {
  id: string;
  userId: string;
  region: string;
  now: number;
  expiresAt: number;
  tokenHash: string;
  tokenExpiresAt: number;
}

/** A refresh token, its family and its user, as one read sees them. */
export interface RefreshState {
  tokenHash: string;
  sessionId: string;
  userId: string;
  username: string;
  disabled: boolean;
  region: string;
  tokenGeneration: number;
  consumedAt: number | null;
  tokenExpiresAt: number;
  sessionGeneration: number;
  sessionExpiresAt: number;
  revokedAt: number | null;
  /** Where this read came from; a cache-backed store says "cache". */
  source?: 'db' | 'cache' | 'replica';
}

export interface Rotation {
  sessionId: string;
  /** The generation of the token being consumed (the family's live one). */
  generation: number;
  parentHash: string;
  childHash: string;
  childExpiresAt: number;
  now: number;
}

export type RevocationReason = 'logout' | 'logout_all' | 'reuse' | 'revoked';

export interface SessionStore {
  create(session: NewSession): Promise<void>;
  /**
   * The state of a refresh token. A cache may answer unless `consistent` is
   * set; then the answer must come from the source of truth.
   */
  findRefreshState(tokenHash: string, opts?: { consistent?: boolean }): Promise<RefreshState | null>;
  /** Consumes the parent and adds the child atomically; false when the family moved on or ended. */
  rotate(rotation: Rotation): Promise<boolean>;
  /** True when the session was live and is now revoked. */
  revoke(sessionId: string, userId: string, now: number, reason: RevocationReason): Promise<boolean>;
  /** Ids of the sessions revoked. */
  revokeAllForUser(userId: string, now: number, reason: RevocationReason): Promise<string[]>;
  findOwner(tokenHash: string): Promise<{ sessionId: string; userId: string } | null>;
  revokedSince(since: number): Promise<{ id: string; revokedAt: number }[]>;
}

export interface StoredKey {
  kid: string;
  region: string;
  alg: string;
  publicJwk: Record<string, unknown>;
  /** The encrypted private JWK; null for another region's key, kept for its public half. */
  privateJwkEnc: string | null;
  activatesAt: number;
  retiredAt: number | null;
}

export interface KeyStore {
  /** Keys retired after `since`, or not retired; newest first. */
  list(since: number): Promise<StoredKey[]>;
  /** Adds a key and retires the region's others as of its activation, in one transaction. */
  add(key: StoredKey, now: number): Promise<void>;
  /** Stores another region's public key, or updates its activation and retirement; never changes a key of this region. */
  putForeign(key: StoredKey, now: number): Promise<void>;
}
