import type { FastifyInstance } from 'fastify';
import type { TokenLookup, TokenRequest } from '../../auth/oauth.js';
import type { Services } from '../../services.js';
import { requireServiceToken } from '../plugins/admin.js';
import { tokenRequestProof } from '../plugins/dpop.js';
import { acceptFormBodies } from '../plugins/form.js';
import { errors, introspectionResponse, OAUTH_CONTENT_TYPES, serverMetadataResponse, tokenLookupBody, tokenRequestBody, tokenResponse } from '../schemas.js';
import { context } from './auth.js';
import { answer } from '../served.js';

/**
 * The standard OAuth 2.0 endpoints (RFC 6749, 7009, 7662, 8414). Registered
 * as their own plugin so that form bodies are accepted here and nowhere else.
 */
export async function oauthRoutes(app: FastifyInstance, { services }: { services: Services }): Promise<void> {
  const { oauth, config, dpop } = services;
  acceptFormBodies(app);
  const metadata = oauth.metadata();

  app.post<{ Body: TokenRequest }>(
    '/oauth/token',
    { schema: { consumes: OAUTH_CONTENT_TYPES, body: tokenRequestBody, response: { 200: tokenResponse, ...errors(400, 401, 413, 415, 429, 503) } } },
    async (request, reply) => answer(request, await oauth.token(request.body, context(request), await tokenRequestProof(request, reply, dpop, config))),
  );

  app.post<{ Body: TokenLookup }>(
    '/oauth/revoke',
    { schema: { consumes: OAUTH_CONTENT_TYPES, body: tokenLookupBody, response: { 200: { type: 'null' }, ...errors(400, 401, 413, 415, 503) } } },
    async (request, reply) => {
      const revoked = await oauth.revoke(request.body, context(request), await tokenRequestProof(request, reply, dpop, config));
      if (revoked) answer(request, revoked);
      return reply.code(200).send();
    },
  );

  app.post<{ Body: TokenLookup }>(
    '/oauth/introspect',
    {
      schema: {
        consumes: OAUTH_CONTENT_TYPES,
        body: tokenLookupBody,
        security: [{ serviceToken: [] }],
        response: { 200: introspectionResponse, ...errors(400, 401, 413, 415, 503) },
      },
      // Before the body is read: an unauthenticated caller learns nothing, not even a 400.
      onRequest: requireServiceToken([config.introspectionToken, config.adminToken], 'Introspection needs the introspection or admin token.'),
    },
    async (request) => oauth.introspect(request.body),
  );

  app.get('/.well-known/oauth-authorization-server', { schema: { response: { 200: serverMetadataResponse } } }, async (_request, reply) =>
    reply.header('cache-control', 'public, max-age=300').send(metadata),
  );
}
