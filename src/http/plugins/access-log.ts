import { type FastifyInstance, type FastifyReply, type FastifyRequest, LogController } from 'fastify';

/**
 * One log line per request, written when the response is done: what Fastify
 * says in two lines (incoming, completed) in one, since every line costs the
 * hot paths a serialization and a write. A request the client abandons
 * before its answer gets a line of its own. Never a body, a header value or
 * the query string: a client may put a secret in any of them. The line
 * carries the request id (`reqId`), as the request's audit line does
 * (`request_id`). Fastify's other lines (stream and serializer errors) stay.
 */
export class AccessLogController extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const line = { ...fieldsOf(request), statusCode: reply.statusCode, responseTime: reply.elapsedTime };
    if (error) reply.log.error({ ...line, err: error }, 'request errored');
    else reply.log.info(line, 'request completed');
  }
}

function fieldsOf(request: FastifyRequest) {
  return { method: request.method, path: request.url.split('?', 1)[0], remoteAddress: request.ip };
}

/** The line for a request whose client went away before the answer (no `requestCompleted` follows). */
export function registerAccessLog(app: FastifyInstance): void {
  app.addHook('onRequestAbort', async (request) => {
    request.log.info(fieldsOf(request), 'request aborted');
  });
}
