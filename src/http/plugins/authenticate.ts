import type { FastifyRequest } from 'fastify';
import { parseBearer } from '../../auth/bearer.js';
import { type AccessClaims, type AccessTokenVerifier, fail, verifyFailureOf } from '../../auth/verifier.js';
import type { Metrics } from '../../observability/metrics.js';

declare module 'fastify' {
  interface FastifyRequest {
    claims: AccessClaims | null;
  }
}

/** The metric label of a failed verification. */
function failureOutcome(err: unknown): 'expired' | 'revoked' | 'invalid' {
  switch (verifyFailureOf(err)) {
    case 'expired':
    case 'too old':
      return 'expired';
    case 'session revoked':
      return 'revoked';
    default:
      return 'invalid';
  }
}

/**
 * A preHandler for protected routes: verifies the bearer access token locally
 * (no database, no network) and puts its claims on the request. Each outcome
 * is counted in `verifications` when given.
 */
export function authenticate(verifier: AccessTokenVerifier, verifications?: Metrics['tokenVerifications']) {
  return async function requireAccessToken(request: FastifyRequest): Promise<void> {
    const token = parseBearer(request.headers.authorization);
    if (!token) {
      verifications?.inc({ outcome: 'missing' });
      fail('missing bearer token');
    }
    try {
      request.claims = verifier.verify(token);
    } catch (err) {
      verifications?.inc({ outcome: failureOutcome(err) });
      throw err;
    }
    verifications?.inc({ outcome: 'valid' });
  };
}
