import type { FastifyRequest } from 'fastify';
import { parseAuthorization } from '../../auth/bearer.js';
import type { DpopVerifier } from '../../auth/dpop.js';
import { checkSenderConstraint } from '../../auth/dpop-access.js';
import { type AccessClaims, type AccessTokenVerifier, fail, verifyFailureOf } from '../../auth/verifier.js';
import type { Metrics } from '../../observability/metrics.js';
import type { Services } from '../../services.js';
import { proofTargetOf, type ServiceUrls } from './dpop.js';

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

/** How protected routes check DPoP-bound tokens (RFC 9449 §7). */
export interface SenderConstraint {
  dpop: DpopVerifier;
  urls: ServiceUrls;
  /** Unbound tokens are refused (MERIDIAN_DPOP_REQUIRED). */
  required: boolean;
}

export const senderConstraintOf = (s: Pick<Services, 'dpop' | 'config'>): SenderConstraint => ({
  dpop: s.dpop,
  urls: s.config,
  required: s.config.dpopRequired,
});

/**
 * A preHandler for protected routes: verifies the access token locally (no
 * database, no network), and for a DPoP-bound one its proof, and puts its
 * claims on the request. Each outcome is counted in `verifications` when given.
 */
export function authenticate(verifier: AccessTokenVerifier, verifications: Metrics['tokenVerifications'] | undefined, sender: SenderConstraint) {
  return async function requireAccessToken(request: FastifyRequest): Promise<void> {
    const presented = parseAuthorization(request.headers.authorization);
    if (!presented) {
      verifications?.inc({ outcome: 'missing' });
      fail('missing bearer token');
    }
    try {
      const claims = verifier.verify(presented.token);
      const target = () => proofTargetOf(request, sender.urls);
      await checkSenderConstraint(claims, presented, request.headers.dpop, target, sender.dpop, { required: sender.required });
      request.claims = claims;
    } catch (err) {
      verifications?.inc({ outcome: failureOutcome(err) });
      throw err;
    }
    verifications?.inc({ outcome: 'valid' });
  };
}
