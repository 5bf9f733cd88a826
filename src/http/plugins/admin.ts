import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { AppError } from '../../errors.js';

// Service tokens may hold any printable character, so this is wider than RFC 6750's b64token.
const BEARER = /^Bearer[ ]+([\x21-\x7e]+)[ ]*$/i;

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/**
 * A preHandler (or onRequest hook) for endpoints only operators and trusted
 * services call: the request must carry `Authorization: Bearer <token>` with
 * one of the `accepted` secrets; unset ones are skipped, and with none set
 * every caller is refused. Digests of equal length are compared in constant
 * time, so neither a token's content nor its length leaks through timing.
 */
export function requireServiceToken(accepted: readonly (string | undefined)[], description: string) {
  const expected = accepted.filter((t): t is string => !!t).map(digest);
  return async function requireCallerToken(request: FastifyRequest): Promise<void> {
    const header = request.headers.authorization;
    const m = typeof header === 'string' ? BEARER.exec(header) : null;
    const given = m ? digest(m[1] as string) : undefined;
    if (!given || !expected.some((d) => timingSafeEqual(d, given))) {
      throw new AppError('invalid_token', { reason: 'service token required', description });
    }
  };
}

/** Admin pages and their data (dashboard, queues): `Authorization: Bearer <MERIDIAN_ADMIN_TOKEN>`. */
export function requireAdmin(adminToken: string) {
  return requireServiceToken([adminToken], 'This page needs the admin token.');
}
