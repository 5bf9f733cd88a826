import { createHash } from 'node:crypto';

/**
 * RFC 7638 JWK thumbprints: the SHA-256 of the key's required public
 * members, in lexicographic order, as compact JSON. DPoP (RFC 9449) names a
 * key by it (`jkt`), so a session bound to a key can be checked against any
 * later proof without keeping the key.
 */
const REQUIRED_MEMBERS: Readonly<Record<string, readonly string[]>> = {
  EC: ['crv', 'kty', 'x', 'y'],
  OKP: ['crv', 'kty', 'x'],
  RSA: ['e', 'kty', 'n'],
};

/** The base64url SHA-256 thumbprint of a public JWK; undefined when a required member is missing or not a string. */
export function jwkThumbprint(jwk: Readonly<Record<string, unknown>>): string | undefined {
  const members = typeof jwk.kty === 'string' ? REQUIRED_MEMBERS[jwk.kty] : undefined;
  if (!members) return undefined;
  const canonical: Record<string, string> = {};
  for (const name of members) {
    const value = jwk[name];
    if (typeof value !== 'string' || value === '') return undefined;
    canonical[name] = value;
  }
  return createHash('sha256').update(JSON.stringify(canonical)).digest('base64url');
}

/** RFC 9449 §4.2 `ath`: the base64url SHA-256 of the access token's ASCII text. */
export function accessTokenHash(accessToken: string): string {
  return createHash('sha256').update(accessToken, 'ascii').digest('base64url');
}
