import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { parseBearer } from '../../auth/bearer.js';
import type { AccessClaims, AccessTokenVerifier } from '../../auth/verifier.js';
import { AppError } from '../../errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    claims: AccessClaims | null;
  }
}

const bearerToken = (request: FastifyRequest): string | undefined => parseBearer(request.headers.authorization);

/**
 * A preHandler for protected routes: verifies the bearer access token locally
 * (no database, no network) and puts its claims on the request.
 */
export function authenticate(verifier: AccessTokenVerifier) {
  return async function requireAccessToken(request: FastifyRequest): Promise<void> {
    const token = bearerToken(request);
    if (!token) throw new AppError('invalid_token', { reason: 'missing bearer token' });
    request.claims = verifier.verify(token);
  };
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/**
 * A preHandler for endpoints that only trusted services call (introspection):
 * the bearer token must be one of the configured secrets. Compared as
 * SHA-256 digests in constant time, so neither content nor length leaks.
 * With no secret configured, every caller is refused.
 */
export function requireServiceToken(accepted: readonly (string | undefined)[], what: string) {
  const digests = accepted.filter((t): t is string => !!t).map(digest);
  return async function requireCallerToken(request: FastifyRequest): Promise<void> {
    const token = bearerToken(request);
    const given = token === undefined ? undefined : digest(token);
    if (!given || !digests.some((d) => timingSafeEqual(d, given))) {
      throw new AppError('invalid_token', { description: `${what} requires a valid service bearer token.`, reason: 'bad service token' });
    }
  };
}
