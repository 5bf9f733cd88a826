import type { FastifyRequest } from 'fastify';
import type { AccessClaims, AccessTokenVerifier } from '../../auth/verifier.js';
import { AppError } from '../../errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    claims: AccessClaims | null;
  }
}

const BEARER = /^Bearer[ ]+([A-Za-z0-9\-._~+/]+=*)[ ]*$/i;

/**
 * A preHandler for protected routes: verifies the bearer access token locally
 * (no database, no network) and puts its claims on the request.
 */
export function authenticate(verifier: AccessTokenVerifier) {
  return async function requireAccessToken(request: FastifyRequest): Promise<void> {
    const header = request.headers.authorization;
    const m = typeof header === 'string' ? BEARER.exec(header) : null;
    if (!m) throw new AppError('invalid_token', { reason: 'missing bearer token' });
    request.claims = verifier.verify(m[1] as string);
  };
}
