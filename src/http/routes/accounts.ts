import type { FastifyInstance } from 'fastify';
import type { SessionView } from '../../auth/account-service.js';
import type { Services } from '../../services.js';
import { authenticate, senderConstraintOf } from '../plugins/authenticate.js';
import { errors, idParams, passwordChangeBody, sessionsResponse } from '../schemas.js';
import { context } from './auth.js';
import { answer } from '../served.js';

const iso = (t: number): string => new Date(t).toISOString();

/** A session in the body of `GET /v1/auth/sessions` (and of the home region's answer to another region). */
export function sessionBody(s: SessionView) {
  return { id: s.id, created_at: iso(s.createdAt), last_used_at: iso(s.lastUsedAt), region: s.region, user_agent: s.userAgent, ip: s.ip, current: s.current };
}

/** `/v1/auth/sessions` and `/v1/auth/password`: the signed-in user's account, thin over AccountService. */
export async function accountRoutes(app: FastifyInstance, { services }: { services: Services }): Promise<void> {
  const { accountService } = services;
  const requireToken = authenticate(services.verifier, services.metrics.tokenVerifications, senderConstraintOf(services));

  app.get('/v1/auth/sessions', { schema: { response: { 200: sessionsResponse, ...errors(401, 503) } }, preHandler: requireToken }, async (request) => {
    const list = answer(request, await accountService.listSessions(request.claims!, context(request)));
    return { sessions: list.map(sessionBody) };
  });

  app.delete<{ Params: { id: string } }>(
    '/v1/auth/sessions/:id',
    { schema: { params: idParams, response: { 204: { type: 'null' }, ...errors(400, 401, 404, 503) } }, preHandler: requireToken },
    async (request, reply) => {
      answer(request, await accountService.endSession(request.claims!, request.params.id, context(request)));
      return reply.code(204).send();
    },
  );

  app.post<{ Body: { current_password: string; new_password: string } }>(
    '/v1/auth/password',
    { schema: { body: passwordChangeBody, response: { 204: { type: 'null' }, ...errors(400, 401, 413, 415, 429, 503) } }, preHandler: requireToken },
    async (request, reply) => {
      answer(request, await accountService.changePassword(request.claims!, request.body.current_password, request.body.new_password, context(request)));
      return reply.code(204).send();
    },
  );
}
