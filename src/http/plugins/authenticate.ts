import type { FastifyRequest } from 'fastify';
import { parseBearer } from '../../auth/bearer.js';
import type { AccessClaims, AccessTokenVerifier } from '../../auth/verifier.js';
import { AppError, isAppError } from '../../errors.js';
import type { Metrics } from '../../observability/metrics.js';

declare module 'fastify' {
  interface FastifyRequest {
    claims: AccessClaims | null;
  }
}

/** The metric label of a failed verification, from the verifier's reason. */
function failureOutcome(err: unknown): string {
  const reason = isAppError(err) ? err.reason : undefined;
  if (reason === 'expired' || reason === 'too old') return 'expired';
  if (reason === 'session revoked') return 'revoked';
  return 'invalid';
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
      throw new AppError('invalid_token', { reason: 'missing bearer token' });
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
