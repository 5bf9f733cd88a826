import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Services } from '../../services.js';
import type { RequestContext } from '../../observability/audit.js';
import { authenticate, senderConstraintOf } from '../plugins/authenticate.js';
import { tokenRequestProof } from '../plugins/dpop.js';
import { answer } from '../served.js';
import { credentialsBody, errors, logoutBody, meResponse, refreshBody, tokenResponse, userResponse } from '../schemas.js';

declare module 'fastify' {
  interface FastifyRequest {
    ctx: RequestContext | null;
  }
}

/** The request's context, made once per request: what the domain is told of the caller. */
export const context = (request: FastifyRequest): RequestContext =>
  (request.ctx ??= { requestId: request.id, ip: request.ip, userAgent: request.headers['user-agent'] });

/** `/v1/auth/*`: thin handlers over the account and session services. */
export async function authRoutes(app: FastifyInstance, { services }: { services: Services }): Promise<void> {
  const { accounts, sessions, verifier, dpop, config } = services;
  const requireToken = authenticate(verifier, services.metrics.tokenVerifications, senderConstraintOf(services));

  app.post<{ Body: { username: string; password: string } }>(
    '/v1/auth/register',
    { schema: { body: credentialsBody, response: { 201: userResponse, ...errors(400, 409, 413, 415, 429, 503) } } },
    async (request, reply) => {
      const user = await accounts.register(request.body.username, request.body.password, context(request));
      return reply.code(201).send({ id: user.id, username: user.username, home_region: user.homeRegion, created_at: new Date(user.createdAt).toISOString() });
    },
  );

  app.post<{ Body: { username: string; password: string } }>(
    '/v1/auth/login',
    { schema: { body: credentialsBody, response: { 200: tokenResponse, ...errors(400, 413, 415, 429, 503) } } },
    async (request, reply) => {
      const jkt = await tokenRequestProof(request, reply, dpop, config);
      return answer(request, await sessions.login(request.body.username, request.body.password, context(request), jkt));
    },
  );

  app.post<{ Body: { refresh_token: string } }>(
    '/v1/auth/refresh',
    { schema: { body: refreshBody, response: { 200: tokenResponse, ...errors(400, 413, 415, 503) } } },
    async (request, reply) => {
      const jkt = await tokenRequestProof(request, reply, dpop, config);
      return answer(request, await sessions.refresh(request.body.refresh_token, context(request), jkt));
    },
  );

  app.post<{ Body: { refresh_token?: string; all_sessions?: boolean } | null }>(
    '/v1/auth/logout',
    { schema: { body: logoutBody, response: { 204: { type: 'null' }, ...errors(400, 401, 413, 415, 503) } }, preHandler: requireToken },
    async (request, reply) => {
      const body = request.body ?? {};
      answer(request, await sessions.logout(request.claims!, { refreshToken: body.refresh_token, allSessions: body.all_sessions }, context(request)));
      return reply.code(204).send();
    },
  );

  app.get('/v1/auth/me', { schema: { response: { 200: meResponse, ...errors(401) } }, preHandler: requireToken }, async (request) => {
    const c = request.claims!;
    return { id: c.sub, username: c.username ?? '', session_id: c.sid, region: c.region };
  });
}
