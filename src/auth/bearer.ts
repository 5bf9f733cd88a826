/** How an access token was presented: RFC 6750 §2.1 `Bearer`, or RFC 9449 §7.1 `DPoP` (a sender-constrained token). */
export type AuthScheme = 'Bearer' | 'DPoP';

export interface PresentedToken {
  scheme: AuthScheme;
  token: string;
}

const AUTHORIZATION = /^(Bearer|DPoP)[ ]+([A-Za-z0-9\-._~+/]+=*)[ ]*$/i;

/** The scheme and token of an Authorization header value, if it holds one. */
export function parseAuthorization(header: unknown): PresentedToken | undefined {
  const m = typeof header === 'string' ? AUTHORIZATION.exec(header) : null;
  if (!m) return undefined;
  return { scheme: m[1]!.toLowerCase() === 'dpop' ? 'DPoP' : 'Bearer', token: m[2]! };
}
