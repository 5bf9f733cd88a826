import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AccessClaims } from '../../auth/verifier.js';
import { AppError } from '../../errors.js';

/** A request that passed the middleware: the verified claims are on `auth`. */
/** What the middleware needs of a verifier (createVerifier's). */
export interface TokenVerifier {
  verifyRequest(request: ResourceRequest): Promise<AccessClaims>;
}

/** What of a request the verifier checks: the token, and for a DPoP-bound one the proof and what it names. */
export interface ResourceRequest {
  authorization: unknown;
  dpop: unknown;
  method: string;
  /** The request target (path and query), as the request line has it. */
  url: string;
}

export interface AuthenticatedRequest {
  auth: AccessClaims;
}

interface Refusal {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** What the caller is told; the same shapes and headers as the Meridian API (RFC 6750). */
function refusal(err: unknown): Refusal {
  const e = err instanceof AppError ? err : new AppError('temporarily_unavailable', { cause: err, retryAfter: 5 });
  const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' };
  if (e.code === 'invalid_token') headers['www-authenticate'] = 'Bearer error="invalid_token"';
  if (e.retryAfter !== undefined) headers['retry-after'] = String(e.retryAfter);
  Object.assign(headers, e.headers);
  return { status: e.status, headers, body: JSON.stringify({ error: e.code, error_description: e.description }) };
}

const requestOf = (r: { headers: Record<string, unknown>; method?: string; url?: string }): ResourceRequest => ({
  authorization: r.headers.authorization,
  dpop: r.headers.dpop,
  method: r.method ?? 'GET',
  url: r.url ?? '/',
});

interface FastifyLikeRequest {
  headers: Record<string, string | string[] | undefined>;
  method?: string;
  url?: string;
}
interface FastifyLikeReply {
  code(status: number): this;
  headers(values: Record<string, string>): this;
  send(body: string): unknown;
}

/**
 * A Fastify `onRequest`/`preHandler` hook: refuses requests without a valid
 * access token, and puts the claims of the others on `request.auth`.
 */
export function fastifyAuth(verifier: TokenVerifier) {
  return async function meridianAuth(request: FastifyLikeRequest, reply: FastifyLikeReply): Promise<unknown> {
    try {
      (request as FastifyLikeRequest & AuthenticatedRequest).auth = await verifier.verifyRequest(requestOf(request));
      return undefined;
    } catch (err) {
      const r = refusal(err);
      reply.code(r.status).headers(r.headers).send(r.body);
      // Fastify's rule for an async hook that has answered: return the reply.
      return reply;
    }
  };
}

/** The same for Express and Connect: `app.use(expressAuth(verifier))`. */
export function expressAuth(verifier: TokenVerifier) {
  return function meridianAuth(req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void): void {
    verifier.verifyRequest(requestOf(req)).then(
      (claims) => {
        (req as IncomingMessage & AuthenticatedRequest).auth = claims;
        next();
      },
      (err: unknown) => {
        const r = refusal(err);
        res.writeHead(r.status, r.headers).end(r.body);
      },
    );
  };
}
