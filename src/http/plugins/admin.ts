import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { AppError } from '../../errors.js';

// The admin token may hold any printable character, so this is wider than RFC 6750's b64token.
const BEARER = /^Bearer[ ]+([\x21-\x7e]+)[ ]*$/i;

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/**
 * A preHandler for admin pages and their data (dashboard, queues): the
 * request must carry `Authorization: Bearer <MERIDIAN_ADMIN_TOKEN>`. Digests
 * of equal length are compared in constant time, so neither the token's
 * content nor its length leaks through timing.
 */
export function requireAdmin(adminToken: string) {
  const expected = digest(adminToken);
  return async function requireAdminToken(request: FastifyRequest): Promise<void> {
    const header = request.headers.authorization;
    const m = typeof header === 'string' ? BEARER.exec(header) : null;
    if (!m || !timingSafeEqual(digest(m[1] as string), expected)) {
      throw new AppError('invalid_token', { reason: 'admin token required', description: 'This page needs the admin token.' });
    }
  };
}
