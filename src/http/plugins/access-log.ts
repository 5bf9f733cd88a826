import type { FastifyInstance } from 'fastify';

/**
 * One log line per request, written when the response is done: what Fastify
 * would say in two lines (incoming, completed) in one, since every line costs
 * the hot paths a serialization and a write. Never a body, a header value
 * or the query string: a client may put a secret in any of them. The line
 * carries the request id (`reqId`), as the request's audit line does
 * (`request_id`).
 */
export function registerAccessLog(app: FastifyInstance): void {
  app.addHook('onResponse', async (request, reply) => {
    request.log.info(
      { method: request.method, path: request.url.split('?', 1)[0], statusCode: reply.statusCode, responseTime: reply.elapsedTime, remoteAddress: request.ip },
      'request completed',
    );
  });
}
