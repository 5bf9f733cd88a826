import type { FastifyInstance } from 'fastify';
import { AppError } from '../../errors.js';
import type { Services } from '../../services.js';

/** JWKS, liveness and readiness. */
export async function publicRoutes(app: FastifyInstance, { services }: { services: Services }): Promise<void> {
  app.get('/.well-known/jwks.json', { schema: { response: { 200: { type: 'object', additionalProperties: true } } } }, async (_request, reply) => {
    // Short enough that a key rotated in (published before it signs) is seen by caching verifiers in time.
    const maxAge = Math.min(300, Math.floor(services.config.keyPublishDelay / 2));
    return reply.header('cache-control', `public, max-age=${maxAge}`).type('application/json').send(services.keys.jwks());
  });

  app.get('/healthz', { schema: { response: { 200: { type: 'object', properties: { status: { type: 'string' } } } } } }, async () => ({
    status: 'ok',
  }));

  app.get('/metrics', async (_request, reply) => {
    return reply.type(services.metrics.registry.contentType).send(await services.metrics.exposition());
  });

  // API.md: 200 only when database and cache are both reachable. A region whose Redis is down still
  // serves every request from PostgreSQL, but says so, so a balancer can prefer a healthier peer.
  app.get('/readyz', async (_request, reply) => {
    const checks = await services.readiness();
    const failing = Object.entries(checks).filter(([, state]) => state !== 'ok');
    if (failing.length === 0) return reply.send({ status: 'ready', checks });
    const what = failing.map(([name, state]) => (state === 'degraded' ? `${name} unreachable (served from the database)` : `${name} unreachable`));
    const err = new AppError('temporarily_unavailable', { description: what.join('; '), retryAfter: 5 });
    reply.header('retry-after', '5');
    return reply.code(503).send({ error: err.code, error_description: err.description, checks });
  });
}
