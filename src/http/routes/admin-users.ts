import type { FastifyInstance } from 'fastify';
import type { AccountView } from '../../auth/account-service.js';
import { AppError } from '../../errors.js';
import type { Services } from '../../services.js';
import { requireAdmin } from '../plugins/admin.js';
import { adminUserResponse, endedResponse, errors, idParams, nothing, userLookupQuery } from '../schemas.js';
import { context } from './auth.js';

const iso = (t: number): string => new Date(t).toISOString();

function userBody(u: AccountView) {
  return {
    id: u.id,
    username: u.username,
    home_region: u.homeRegion,
    disabled: u.disabled,
    created_at: iso(u.createdAt),
    password_changed_at: iso(u.passwordChangedAt),
  };
}

/**
 * The admin API for accounts, under /admin/v1: off unless MERIDIAN_ADMIN_TOKEN
 * is set, and then only for requests bearing it. The token is checked on
 * request, before the path or body is validated, so without it every call is
 * the same 401.
 */
export async function adminUserRoutes(app: FastifyInstance, { services }: { services: Services }): Promise<void> {
  const token = services.config.adminToken;
  if (!token) return;
  const { accountService } = services;
  const onRequest = requireAdmin(token);
  const done = { 204: { type: 'null' }, ...errors(400, 401, 404, 503) } as const;

  app.get<{ Querystring: { id?: string; username?: string } }>(
    '/admin/v1/users',
    { onRequest, schema: { querystring: userLookupQuery, response: { 200: adminUserResponse, ...errors(400, 401, 404, 503) } } },
    async (request) => {
      const { id, username } = request.query;
      if ((id === undefined) === (username === undefined)) throw new AppError('invalid_request', { description: 'give exactly one of id and username' });
      return userBody(await accountService.findUser(id !== undefined ? { id } : { username: username as string }, context(request)));
    },
  );

  app.get<{ Params: { id: string } }>(
    '/admin/v1/users/:id',
    { onRequest, schema: { params: idParams, querystring: nothing, response: { 200: adminUserResponse, ...errors(400, 401, 404, 503) } } },
    async (request) => userBody(await accountService.findUser({ id: request.params.id }, context(request))),
  );

  app.post<{ Params: { id: string } }>(
    '/admin/v1/users/:id/disable',
    { onRequest, schema: { params: idParams, querystring: nothing, body: nothing, response: done } },
    async (request, reply) => {
      await accountService.disable(request.params.id, context(request));
      return reply.code(204).send();
    },
  );

  app.post<{ Params: { id: string } }>(
    '/admin/v1/users/:id/enable',
    { onRequest, schema: { params: idParams, querystring: nothing, body: nothing, response: done } },
    async (request, reply) => {
      await accountService.enable(request.params.id, context(request));
      return reply.code(204).send();
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/admin/v1/users/:id/sessions',
    { onRequest, schema: { params: idParams, querystring: nothing, body: nothing, response: { 200: endedResponse, ...errors(400, 401, 404, 503) } } },
    async (request) => ({ ended: await accountService.endAllSessions(request.params.id, context(request)) }),
  );

  app.delete<{ Params: { id: string } }>(
    '/admin/v1/users/:id',
    { onRequest, schema: { params: idParams, querystring: nothing, body: nothing, response: done } },
    async (request, reply) => {
      await accountService.deleteUser(request.params.id, context(request));
      return reply.code(204).send();
    },
  );
}
