import type { FastifyInstance } from 'fastify';
import { normalizeUsername } from '../../auth/usernames.js';
import { AppError } from '../../errors.js';
import { toKeysBody } from '../../regions/key-sync.js';
import { REPLICATION_PATH, type ReplicationBatch } from '../../regions/replication.js';
import type { RegionServices } from '../../regions/setup.js';
import type { Services } from '../../services.js';
import { requireRegionSecret } from '../plugins/region-auth.js';
import { errors, sessionsResponse, tokenResponse } from '../schemas.js';
import { sessionBody } from './accounts.js';
import { forwarded } from '../forwarded.js';
import { answer } from '../served.js';
import { dpopJkt, internalDpopRoutes } from './internal-dpop.js';
import { regionId, replicationBody } from './replication-schema.js';

/**
 * `/internal/v1/*`: what regions ask each other. Registered only when a
 * topology is configured, and every route needs the region secret.
 */

const usernameNormalized = { type: 'string', minLength: 1, maxLength: 256 } as const;

const holder = {
  type: 'object',
  required: ['user_id', 'home_region'],
  properties: { user_id: { type: 'string' }, home_region: { type: 'string' } },
} as const;

const claimBody = {
  type: 'object',
  additionalProperties: false,
  required: ['username_normalized', 'user_id', 'home_region'],
  properties: {
    username_normalized: usernameNormalized,
    user_id: { type: 'string', maxLength: 128 },
    home_region: regionId,
    take_over_from: { type: 'string', maxLength: 128 },
  },
} as const;

const findBody = {
  type: 'object',
  additionalProperties: false,
  required: ['username_normalized'],
  properties: { username_normalized: usernameNormalized },
} as const;

const loginBody = {
  type: 'object',
  additionalProperties: false,
  required: ['username', 'password'],
  properties: {
    username: { type: 'string', maxLength: 256 },
    password: { type: 'string', maxLength: 8192 },
    client_ip: { type: 'string', maxLength: 64 },
    dpop_jkt: dpopJkt,
  },
} as const;

const logoutBody = {
  type: 'object',
  additionalProperties: false,
  required: ['user_id', 'session_id'],
  properties: {
    user_id: { type: 'string', maxLength: 128 },
    session_id: { type: 'string', maxLength: 128 },
    refresh_token: { type: 'string', maxLength: 1024 },
    all_sessions: { type: 'boolean' },
  },
} as const;

const keysResponse = {
  type: 'object',
  required: ['region', 'issuer', 'keys'],
  properties: {
    region: { type: 'string' },
    issuer: { type: 'string' },
    keys: {
      type: 'array',
      items: {
        type: 'object',
        required: ['kid', 'alg', 'jwk', 'activates_at', 'retired_at'],
        properties: {
          kid: { type: 'string' },
          alg: { type: 'string' },
          jwk: { type: 'object', additionalProperties: true },
          activates_at: { type: 'number' },
          retired_at: { type: ['number', 'null'] },
        },
      },
    },
  },
} as const;

const userIdBody = { type: 'object', additionalProperties: false, required: ['user_id'], properties: { user_id: { type: 'string', maxLength: 128 } } } as const;

const passwordBody = {
  type: 'object',
  additionalProperties: false,
  required: ['user_id', 'session_id', 'current_password', 'new_password'],
  properties: {
    user_id: { type: 'string', maxLength: 128 },
    session_id: { type: 'string', maxLength: 128 },
    current_password: loginBody.properties.password,
    new_password: loginBody.properties.password,
    client_ip: loginBody.properties.client_ip,
  },
} as const;

export async function internalRoutes(app: FastifyInstance, { services, regions }: { services: Services; regions: RegionServices }): Promise<void> {
  const { config, keys, sessions, clock } = services;
  app.addHook('onRequest', requireRegionSecret(regions.secret));
  const failures = errors(400, 401, 413, 415, 503);

  app.get('/internal/v1/keys', { schema: { response: { 200: keysResponse, ...errors(401) } } }, async () =>
    toKeysBody(config.region, config.issuer, keys.ownKeys()),
  );

  app.post<{ Body: { username: string; password: string; client_ip?: string; dpop_jkt?: string } }>(
    '/internal/v1/login',
    { schema: { body: loginBody, response: { 200: tokenResponse, ...failures, ...errors(429) } } },
    async (request) => {
      const { username, password, client_ip, dpop_jkt } = request.body;
      return answer(request, await sessions.login(username, password, forwarded(request, client_ip), dpop_jkt));
    },
  );

  await app.register(internalDpopRoutes, { services });

  app.post<{ Body: { user_id: string; session_id: string; refresh_token?: string; all_sessions?: boolean } }>(
    '/internal/v1/logout',
    {
      schema: {
        body: logoutBody,
        response: { 200: { type: 'object', required: ['ended'], properties: { ended: { type: 'array', items: { type: 'string' } } } }, ...failures },
      },
    },
    async (request) => {
      const b = request.body;
      const ended = answer(
        request,
        await sessions.logout(
          { sub: b.user_id, sid: b.session_id },
          { refreshToken: b.refresh_token, allSessions: b.all_sessions },
          forwarded(request, undefined),
        ),
      );
      return { ended };
    },
  );

  // The list in the public body (`current` is false throughout: the asking region marks its caller's).
  app.post<{ Body: { user_id: string } }>(
    '/internal/v1/sessions',
    { schema: { body: userIdBody, response: { 200: sessionsResponse, ...failures } } },
    async (request) => {
      const list = answer(request, await services.accountService.listSessions({ sub: request.body.user_id, sid: '' }, forwarded(request, undefined)));
      return { sessions: list.map(sessionBody) };
    },
  );

  app.post<{ Body: { user_id: string; session_id: string; current_password: string; new_password: string; client_ip?: string } }>(
    '/internal/v1/password',
    { schema: { body: passwordBody, response: { 204: { type: 'null' }, ...failures, ...errors(429) } } },
    async (request, reply) => {
      const b = request.body;
      answer(
        request,
        await services.accountService.changePassword(
          { sub: b.user_id, sid: b.session_id },
          b.current_password,
          b.new_password,
          forwarded(request, b.client_ip),
        ),
      );
      return reply.code(204).send();
    },
  );

  app.post<{ Body: ReplicationBatch }>(
    REPLICATION_PATH,
    // A batch of changes is larger than any client request: its own body limit.
    {
      bodyLimit: 4 * 1024 * 1024,
      schema: {
        body: replicationBody,
        response: { 200: { type: 'object', required: ['applied'], properties: { applied: { type: 'integer' } } }, ...failures },
      },
    },
    async (request) => {
      const { origin, events } = request.body;
      if (origin === config.region || !regions.client.knows(origin))
        throw new AppError('invalid_request', { description: 'origin must be another region of the topology' });
      return { applied: await regions.replication.apply(origin, events) };
    },
  );

  const claims = regions.localClaims;
  if (!claims) return;
  // Keys are normalized again here: a region still on the previous release sends keys made with
  // lower-casing only (final sigma, ß), and the key rule makes the same key out of those.
  app.post<{ Body: { username_normalized: string; user_id: string; home_region: string; take_over_from?: string } }>(
    '/internal/v1/usernames/claim',
    { schema: { body: claimBody, response: { 200: holder, ...failures } } },
    async (request) => {
      const b = request.body;
      const h = await claims.claim({
        usernameNormalized: normalizeUsername(b.username_normalized),
        userId: b.user_id,
        homeRegion: b.home_region,
        now: clock.now(),
        takeOverFrom: b.take_over_from,
      });
      return { user_id: h.userId, home_region: h.homeRegion };
    },
  );

  app.post<{ Body: { username_normalized: string } }>(
    '/internal/v1/usernames/find',
    {
      schema: {
        body: findBody,
        response: { 200: { type: 'object', required: ['holder'], properties: { holder: { anyOf: [holder, { type: 'null' }] } } }, ...failures },
      },
    },
    async (request) => {
      const h = await claims.find(normalizeUsername(request.body.username_normalized));
      return { holder: h && { user_id: h.userId, home_region: h.homeRegion } };
    },
  );

  app.post<{ Body: { user_id: string } }>(
    '/internal/v1/usernames/release',
    { schema: { body: userIdBody, response: { 204: { type: 'null' }, ...failures } } },
    async (request, reply) => {
      await claims.release(request.body.user_id);
      return reply.code(204).send();
    },
  );
}
