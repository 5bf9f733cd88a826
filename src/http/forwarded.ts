import type { FastifyRequest } from 'fastify';
import type { RequestContext } from '../observability/audit.js';

/** A request another region forwarded: the client's address comes from that region, which the secret vouches for. */
export const forwarded = (request: FastifyRequest, clientIp: string | undefined): RequestContext => {
  const from = request.headers['x-meridian-from'];
  return { requestId: request.id, ip: clientIp ?? request.ip, forwardedBy: typeof from === 'string' && from ? from : 'unknown' };
};
