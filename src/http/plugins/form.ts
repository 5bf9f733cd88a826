import type { FastifyInstance } from 'fastify';
import { AppError } from '../../errors.js';

/**
 * Accepts `application/x-www-form-urlencoded` bodies in the calling plugin's
 * scope only (RFC 6749 endpoints); elsewhere such a body stays a 415. A
 * parameter sent twice is refused, as RFC 6749 §3.1 requires.
 */
export function acceptFormBodies(app: FastifyInstance): void {
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    const params = new Map<string, string>();
    for (const [name, value] of new URLSearchParams(body as string)) {
      if (params.has(name)) {
        done(new AppError('invalid_request', { description: `parameter ${name} must not be repeated`, reason: 'repeated form parameter' }), undefined);
        return;
      }
      params.set(name, value);
    }
    // fromEntries defines own properties, so a "__proto__" parameter is just a name.
    done(null, Object.fromEntries(params));
  });
}
