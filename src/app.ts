import { randomUUID } from 'node:crypto';
import cors from '@fastify/cors';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import { accountRoutes } from './http/routes/accounts.js';
import { adminRoutes } from './http/routes/admin.js';
import { adminUserRoutes } from './http/routes/admin-users.js';
import { authRoutes } from './http/routes/auth.js';
import { dashboardRoutes } from './http/routes/dashboard.js';
import { internalRoutes } from './http/routes/internal.js';
import { publicRoutes } from './http/routes/public.js';
import { registerErrorHandling, sendError } from './http/plugins/errors.js';
import { AppError } from './errors.js';
import { AccessLogController, registerAccessLog } from './http/plugins/access-log.js';
import { clientErrorResponder } from './http/client-errors.js';
import { registerHttpMetrics } from './http/plugins/metrics.js';
import { docsRoutes, registerOpenApi } from './http/plugins/openapi.js';
import { oauthRoutes } from './http/routes/oauth.js';
import { revocationRoutes } from './http/routes/revocations.js';
import type { Services } from './services.js';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Builds the HTTP app over ready services; does not listen. */
export async function buildApp(services: Services): Promise<FastifyInstance> {
  const { config } = services;
  const app = Fastify({
    loggerInstance: services.logger as FastifyBaseLogger,
    bodyLimit: config.bodyLimit,
    // Trust one hop only: the address our proxy appended. Trusting every hop would take the
    // leftmost entry, which the client writes, and let it pick its own throttling bucket.
    trustProxy: config.trustProxy ? (_address: string, hop: number) => hop === 0 : false,
    // Keep a caller's request id when it is safe to log; otherwise make one.
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: true, allErrors: false } },
    return503OnClosing: true,
    // A path the router refuses (a parameter over maxParamLength, bad percent-encoding) gets the API's error body, not Fastify's.
    frameworkErrors: (err, _request, reply) =>
      sendError(reply, new AppError('invalid_request', { description: 'The request path is malformed or too long.', cause: err })),
    // Oversized headers and unparsable requests get the API's error body too.
    clientErrorHandler: clientErrorResponder(services.logger, { 'x-meridian-region': config.region }),
    // One line per request instead of two (http/plugins/access-log.ts).
    logController: new AccessLogController(),
  });
  // JSON only on /v1: text/plain is a 415, not a string body.
  app.removeContentTypeParser('text/plain');
  // An empty JSON body is no body (logout's is optional); anything else goes to the default parser,
  // which refuses __proto__ and constructor.prototype keys.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) =>
    body === '' ? done(null, undefined) : parseJson(request, body as string, done),
  );
  registerErrorHandling(app);
  registerHttpMetrics(app, services.metrics);
  registerAccessLog(app);
  app.decorateRequest('claims', null);
  app.decorateRequest('ctx', null);
  app.decorateRequest('servedBy', null);

  app.addHook('onSend', async (request: FastifyRequest, reply, payload) => {
    reply.header('x-request-id', request.id);
    // The region that served the answer: another region's when this one proxied the request there (RFC 9110 Via names this one).
    const servedBy = request.servedBy ?? config.region;
    reply.header('x-meridian-region', servedBy);
    if (servedBy !== config.region) reply.header('via', `1.1 ${config.region}`);
    // Token responses must never be cached; nothing else here benefits from caching except JWKS, which sets its own.
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    return payload;
  });

  // Browsers on the listed origins may call the API directly; none by default.
  if (config.corsOrigins.length) {
    await app.register(cors, {
      origin: [...config.corsOrigins],
      methods: ['GET', 'POST', 'DELETE'],
      allowedHeaders: ['authorization', 'content-type', 'dpop'],
      // A browser client must read the nonce to retry with it (RFC 9449 §8).
      exposedHeaders: ['dpop-nonce', 'www-authenticate'],
      maxAge: 600,
    });
  }
  await registerOpenApi(app, config);
  await app.register(publicRoutes, { services });
  await app.register(authRoutes, { services });
  await app.register(accountRoutes, { services });
  await app.register(dashboardRoutes, { services });
  await app.register(oauthRoutes, { services });
  await app.register(revocationRoutes, { services });
  await app.register(docsRoutes);
  await app.register(adminRoutes, { services });
  await app.register(adminUserRoutes, { services });
  if (services.regions) await app.register(internalRoutes, { services, regions: services.regions });
  return app;
}
