import type { FastifyReply, FastifyRequest } from 'fastify';
import type { DpopVerifier, ProofTarget } from '../../auth/dpop.js';

/** Where clients reach the service: the issuer, and the origins of MERIDIAN_DPOP_ORIGINS (a gateway). */
export interface ServiceUrls {
  issuer: string;
  dpopOrigins: readonly string[];
}

/**
 * What a proof's `htm`/`htu` are checked against. Only configured URLs
 * count, never the request's Host header: a client picks that, so trusting
 * it would let a proof made for one region be replayed at another.
 */
export function proofTargetOf(request: FastifyRequest, urls: ServiceUrls): Omit<ProofTarget, 'accessToken'> {
  const path = request.url.split('?', 1)[0] ?? '/';
  return { method: request.method, urls: [urls.issuer.replace(/\/+$/, ''), ...urls.dpopOrigins].map((base) => `${base}${path}`) };
}

/**
 * The key a token request's `DPoP` header proves, or undefined when it has
 * none. With server nonces on, every token response hands out a fresh one.
 */
export async function tokenRequestProof(request: FastifyRequest, reply: FastifyReply, dpop: DpopVerifier, urls: ServiceUrls): Promise<string | undefined> {
  const nonce = dpop.nonce();
  if (nonce) reply.header('dpop-nonce', nonce);
  const header = request.headers.dpop;
  if (header === undefined) return undefined;
  return (await dpop.verify(header, proofTargetOf(request, urls))).jkt;
}
