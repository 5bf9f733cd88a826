import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, ERRORS, type ErrorCode } from '../../errors.js';

/**
 * The only place errors become HTTP. Domain AppErrors keep their code; the
 * framework's own errors (validation, body parsing, limits) are mapped to the
 * API.md codes; anything else is a 500 with nothing of its cause on the wire.
 */

const FRAMEWORK_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_request',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_request',
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_request',
};

const BY_STATUS: Record<number, ErrorCode> = {
  400: 'invalid_request',
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  503: 'temporarily_unavailable',
};

export function toAppError(err: FastifyError | Error): AppError {
  if (err instanceof AppError) return err;
  const fe = err as FastifyError;
  if (fe.validation) {
    return new AppError('invalid_request', { description: fe.message, reason: 'schema validation', cause: err });
  }
  const mapped = (fe.code && FRAMEWORK_CODES[fe.code]) || (fe.statusCode && fe.statusCode < 500 ? BY_STATUS[fe.statusCode] : undefined);
  if (mapped) {
    const description = mapped === 'invalid_request' ? 'The request body is not valid JSON.' : undefined;
    return new AppError(mapped, { description, reason: fe.code, cause: err });
  }
  if (err instanceof SyntaxError) return new AppError('invalid_request', { description: 'The request body is not valid JSON.', cause: err });
  if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) return new AppError('invalid_request', { reason: fe.code, cause: err });
  return new AppError('server_error', { cause: err });
}

export function sendError(reply: FastifyReply, err: AppError): FastifyReply {
  if (err.retryAfter !== undefined) reply.header('retry-after', String(err.retryAfter));
  if (err.code === 'invalid_token') reply.header('www-authenticate', 'Bearer error="invalid_token"');
  // After the default: a challenge the error brings (DPoP on a protected resource) replaces it.
  for (const [name, value] of Object.entries(err.headers)) reply.header(name, value);
  return reply.code(err.status).type('application/json; charset=utf-8').send({ error: err.code, error_description: err.description });
}

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((raw: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const err = toAppError(raw);
    // Another region's refusal, passed on: the answer is that region's (X-Meridian-Region).
    if (err.servedBy) request.servedBy = err.servedBy;
    if (err.status >= 500) {
      request.log.error({ err: err.cause ?? err, code: err.code, reason: err.reason }, 'request failed');
    } else {
      request.log.info({ code: err.code, reason: err.reason }, 'request refused');
    }
    return sendError(reply, err);
  });
  app.setNotFoundHandler((_request, reply) => sendError(reply, new AppError('not_found')));
}

/** For route schemas: every error body has this shape. */
export const errorBodySchema = {
  type: 'object',
  properties: { error: { type: 'string', enum: Object.keys(ERRORS) }, error_description: { type: 'string' } },
  required: ['error', 'error_description'],
} as const;
