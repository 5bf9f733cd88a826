import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../../observability/metrics.js';

/**
 * Observes the latency of every response. The route label is the route's
 * pattern (`/v1/auth/login`), never the raw URL, and "unmatched" for paths
 * no route serves, so scanners cannot grow the label set.
 */
export function registerHttpMetrics(app: FastifyInstance, metrics: Metrics): void {
  app.addHook('onResponse', async (request, reply) => {
    const labels = { route: request.routeOptions.url ?? 'unmatched', method: request.method, status: String(reply.statusCode) };
    metrics.httpRequestSeconds.observe(labels, reply.elapsedTime / 1000);
  });
}
