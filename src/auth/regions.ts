import type { RequestContext } from '../observability/audit.js';
import type { SessionSummary } from './stores.js';
import type { LogoutOptions, TokenResponse } from './token-response.js';

/**
 * What the domain needs from other regions, as two small contracts. A region
 * on its own uses `localDirectory` and no `RemoteRegions` (the single-region
 * behaviour); src/regions/ implements both over HTTP for a topology.
 */

export interface UsernameClaim {
  usernameNormalized: string;
  userId: string;
  homeRegion: string;
  now: number;
}

/** Whoever holds a username in the directory. */
export interface ClaimHolder {
  userId: string;
  homeRegion: string;
}

export interface ClaimRequest extends UsernameClaim {
  /** Hand the claim over from this user id (same home region only). */
  takeOverFrom?: string;
}

/** The directory's store: the table at the directory region, HTTP to it from elsewhere. */
export interface UsernameClaims {
  /** Claims the name (idempotent by user id); returns whoever holds it afterwards. */
  claim(claim: ClaimRequest): Promise<ClaimHolder>;
  find(usernameNormalized: string): Promise<ClaimHolder | null>;
  /** Frees whatever name the user holds (idempotent: nothing held, nothing done). */
  release(userId: string): Promise<void>;
}

/** Where usernames are made unique across regions and where a user's home region is looked up. */
export interface UsernameDirectory {
  /**
   * Reserves the name for this user in every region. True when the name is
   * now this user's (claiming again with the same user id is true again);
   * false when another user holds it. Throws a 503 AppError when the
   * deciding region cannot be reached.
   */
  claim(claim: UsernameClaim): Promise<boolean>;
  /** The home region of whoever holds the name; null when no region does. Throws 503 like `claim`. */
  homeRegion(usernameNormalized: string): Promise<string | null>;
  /** Frees the name of a user being deleted, in every region (idempotent). Throws 503 like `claim`. */
  release(userId: string): Promise<void>;
}

/** One region: the users table's unique index is the whole directory, and every user is at home here. */
export const localDirectory: UsernameDirectory = {
  claim: async () => true,
  homeRegion: async () => null,
  release: async () => {},
};

/** An answer, and the region whose state produced it (this one, or the one a request was sent to). */
export interface Served<T> {
  value: T;
  servedBy: string;
}

/**
 * Requests served by the region that holds the state: the user's home region
 * for a login, the token's origin region for a refresh, the session's origin
 * for a logout. The answer (or error)
 * is that region's; when it cannot be reached the call throws a 503 AppError.
 * Each answer names the region that gave it.
 */
export interface RemoteRegions {
  /** `jkt`: the key the client proved here (DPoP); the region vouches for the proof it checked. */
  login(region: string, username: string, password: string, ctx: RequestContext, jkt?: string): Promise<Served<TokenResponse>>;
  refresh(region: string, refreshToken: string, ctx: RequestContext, jkt?: string): Promise<Served<TokenResponse>>;
  /** Ends sessions at their origin for a caller whose access token this region verified; resolves with the ids ended. */
  logout(region: string, request: RemoteLogout, ctx: RequestContext): Promise<Served<string[]>>;
  /** Revokes a refresh token at its origin (RFC 7009 there); resolves once it is dead. */
  revoke(region: string, refreshToken: string, ctx: RequestContext, jkt?: string): Promise<Served<void>>;
  /** The live sessions of a user, from the user's home region. */
  sessions?(region: string, userId: string, ctx: RequestContext): Promise<Served<SessionSummary[]>>;
  /** A password change made in the user's home region, for a caller whose access token this region verified. */
  changePassword?(region: string, request: RemotePasswordChange, ctx: RequestContext): Promise<Served<void>>;
}

export interface RemotePasswordChange {
  userId: string;
  sessionId: string;
  currentPassword: string;
  newPassword: string;
}

export interface RemoteLogout extends LogoutOptions {
  userId: string;
  sessionId: string;
}
