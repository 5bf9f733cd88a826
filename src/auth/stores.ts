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

/** A user's record as a password change and the admin API see it. */
export interface UserRecord extends UserCredentials {
  usernameNormalized: string;
  homeRegion: string;
  createdAt: number;
  passwordChangedAt: number;
  /** The last "log out everywhere": sessions started until `at`, but `kept`, are ended wherever they are. */
  sessionsEnded: { at: number; kept: string | null } | null;
}

export interface UserStore {
  /** Inserts the user; null when the normalized username is taken. */
  insert(user: NewUser): Promise<CreatedUser | null>;
  findByUsername(usernameNormalized: string): Promise<UserCredentials | null>;
  findById(id: string): Promise<UserRecord | null>;
  /** Stores a new password hash (password_changed_at = now); false when the user does not exist. */
  setPassword(id: string, passwordHash: string, now: number): Promise<boolean>;
  /** Disables or re-enables the account; false when the user does not exist. Sessions are the caller's to end. */
  setDisabled(id: string, disabled: boolean, now: number): Promise<boolean>;
  /** Removes the user with its sessions and tokens (in a topology, announcing the deletion to every region); false when it did not exist. */
  delete(id: string, now: number): Promise<boolean>;
}

export interface NewSession {
  id: string;
  userId: string;
  region: string;
  now: number;
  expiresAt: number;
  /**
   * The password hash the login checked the password against: the session is
   * made only while the user still has it and is enabled, so a login racing a
   * password change or a disable cannot outlive it.
   */
  checkedPasswordHash: string;
  /** The client that logged in, as the request showed it (bounded by the caller). */
  userAgent?: string;
  ip?: string;
  /** The thumbprint of the DPoP key the login proved: the session is bound to it for good. */
  jkt?: string;
}

/** A live session as its user sees it in the session list. */
export interface SessionSummary {
  id: string;
  region: string;
  createdAt: number;
  lastUsedAt: number;
  userAgent: string | null;
  ip: string | null;
}

/**
 * A session (one refresh-token family) and its user, as one read sees them:
 * everything a refresh decision needs. The session row is the only state a
 * refresh token has (see refresh-tokens.ts).
 */
export interface RefreshState {
  sessionId: string;
  userId: string;
  username: string;
  disabled: boolean;
  /** The family's origin region. */
  region: string;
  /** The generation of the live token. */
  generation: number;
  /** When the live generation was minted (the login, or the last rotation). */
  rotatedAt: number;
  /** Absolute; rotation never extends it. */
  expiresAt: number;
  revokedAt: number | null;
  /** The thumbprint of the DPoP key the session is bound to; null when unbound. */
  jkt: string | null;
  /** Where this read came from; a cache-backed store says "cache". */
  source?: 'db' | 'cache';
}

export interface Rotation {
  /** The state the decision was made on: the rotation happens only if the session is still at its generation. */
  from: RefreshState;
  /** The generation the session moves to. */
  generation: number;
  now: number;
  /** The DPoP key the refresh proved: an unbound family is bound to it, a bound one rotates only with it. */
  jkt?: string;
  /**
   * The store may hold an earlier generation than `from` (write-behind: rotations made in the cache and
   * not flushed yet): it rotates from any generation up to `from.generation`. Never set by the domain.
   */
  storeMayLag?: boolean;
}

export type RevocationReason = 'logout' | 'logout_all' | 'reuse' | 'revoked' | 'password_changed' | 'disabled' | 'admin' | 'deleted';

export interface SessionStore {
  /** Starts the family at generation 0; false when the user is no longer as the login checked it (see NewSession.checkedPasswordHash). */
  create(session: NewSession): Promise<boolean>;
  /**
   * The state of a session. A cache may answer unless `consistent` is set;
   * then the answer must come from the source of truth.
   */
  findSession(sessionId: string, opts?: { consistent?: boolean }): Promise<RefreshState | null>;
  /** What a previous-format refresh token (by its SHA-256) stands for; null when it is not held here. */
  findLegacyToken(tokenHash: string): Promise<{ sessionId: string; generation: number } | null>;
  /** Moves the session from `from.generation` to `generation` (compare-and-set); false when it moved on, ended or expired. */
  rotate(rotation: Rotation): Promise<boolean>;
  /** True when the session was live and is now revoked. */
  revoke(sessionId: string, userId: string, now: number, reason: RevocationReason): Promise<boolean>;
  /** Ids of the sessions revoked; `except` (a session id) stays live. */
  revokeAllForUser(userId: string, now: number, reason: RevocationReason, except?: string): Promise<string[]>;
  /** The user's live sessions (not revoked, not expired, live token minted after `idleSince`), newest first. */
  listForUser(userId: string, now: number, idleSince: number): Promise<SessionSummary[]>;
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
