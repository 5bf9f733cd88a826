import type { FastifyInstance } from 'fastify';
import type { Services } from '../../services.js';
import { forwarded } from '../forwarded.js';
import { errors, tokenResponse } from '../schemas.js';
import { answer } from '../served.js';

/**
 * `/internal/v1/refresh` and `/internal/v1/revoke`: a region that checked a
 * DPoP proof passes a bound token on to its origin with the key's
 * thumbprint. The proof itself names the first region's URL, so the origin
 * could not check it; the region secret (required by the parent plugin)
 * vouches that it was checked.
 */

/** The thumbprint of a DPoP key the forwarding region checked a proof by. */
export const dpopJkt = { type: 'string', pattern: '^[A-Za-z0-9_-]{43}$' } as const;

/** A bound token (under `field`) and the key the forwarding region checked. */
const boundTokenBody = (field: string) => ({
  type: 'object',
  additionalProperties: false,
  required: [field, 'dpop_jkt'],
  properties: { [field]: { type: 'string', maxLength: 1024 }, dpop_jkt: dpopJkt },
});

export async function internalDpopRoutes(app: FastifyInstance, { services }: { services: Services }): Promise<void> {
  const { sessions } = services;
  const failures = errors(400, 401, 413, 415, 503);

  // A refresh of a DPoP-bound token forwarded by a region that checked the proof (its URL, not ours, is in it).
  app.post<{ Body: { refresh_token: string; dpop_jkt: string } }>(
    '/internal/v1/refresh',
    { schema: { body: boundTokenBody('refresh_token'), response: { 200: tokenResponse, ...failures } } },
    async (request) => answer(request, await sessions.refresh(request.body.refresh_token, forwarded(request, undefined), request.body.dpop_jkt)),
  );

  app.post<{ Body: { token: string; dpop_jkt: string } }>(
    '/internal/v1/revoke',
    { schema: { body: boundTokenBody('token'), response: { 200: { type: 'null' }, ...failures } } },
    async (request, reply) => {
      answer(request, await sessions.revokeRefreshToken(request.body.token, forwarded(request, undefined), request.body.dpop_jkt));
      return reply.code(200).send();
    },
  );
}
