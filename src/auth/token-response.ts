/** What a login or refresh answers, and what a logout may ask for: the shapes the sessions hand across their edges (HTTP, other regions). */

/** RFC 6749 §5.1 token response. */
export interface TokenResponse {
  access_token: string;
  /** DPoP for a session bound to a key (RFC 9449 §5). */
  token_type: 'Bearer' | 'DPoP';
  expires_in: number;
  refresh_token: string;
  refresh_expires_in: number;
}

/** What a logout ends besides the caller's own session. */
export interface LogoutOptions {
  refreshToken?: string;
  allSessions?: boolean;
}
