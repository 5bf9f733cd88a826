import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { AppError } from '../../errors.js';

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/**
 * An onRequest hook for /internal/v1: the caller must present the shared
 * region secret as a bearer token. Compared as digests in constant time, so
 * neither the secret nor its length leaks through timing.
 */
export function requireRegionSecret(secret: string) {
  const expected = digest(`Bearer ${secret}`);
  return async function regionSecret(request: FastifyRequest): Promise<void> {
    const given = request.headers.authorization;
    if (typeof given !== 'string' || !timingSafeEqual(digest(given), expected)) {
      throw new AppError('invalid_client', { reason: 'missing or wrong region secret' });
    }
  };
}
