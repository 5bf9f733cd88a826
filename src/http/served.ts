import type { FastifyRequest } from 'fastify';
import type { Served } from '../auth/regions.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The region whose state produced the answer, when the domain said (app.ts turns it into X-Meridian-Region). */
    servedBy: string | null;
  }
}

/** Notes which region served `served` (for the response headers) and returns its value. */
export function answer<T>(request: FastifyRequest, served: Served<T>): T {
  request.servedBy = served.servedBy;
  return served.value;
}
