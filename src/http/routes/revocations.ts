import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { unavailable } from '../../errors.js';
import type { Services } from '../../services.js';
import { errors, revocationPage, sinceQuery } from '../schemas.js';

/** How often an idle stream says it is alive; a verifier that hears nothing for 3 of these reconnects. */
export const HEARTBEAT_MS = 5_000;
// A subscriber this far behind is cut off; it reconnects with its cursor and loses nothing.
const MAX_BUFFERED_BYTES = 1 << 20;
// Streams are unauthenticated and long-lived: past this many, callers are told to poll (503) instead.
const MAX_STREAMS = 1_000;

type SinceRequest = FastifyRequest<{ Querystring: { since?: string } }>;

/** `?since=`, else the `Last-Event-ID` an EventSource sends when it reconnects, else the start. */
function sinceOf(request: SinceRequest): number {
  const lastId = request.headers['last-event-id'];
  const raw = request.query.since ?? (typeof lastId === 'string' && /^[0-9]{1,15}$/.test(lastId) ? lastId : '0');
  return Number(raw);
}

/**
 * The revocation feed: sessions revoked recently enough that their access
 * tokens may still be unexpired, for verifiers in other processes. Polled
 * (`GET /v1/revocations`) or streamed as server-sent events
 * (`GET /v1/revocations/stream`: `revoked` events, and a `heartbeat` event
 * carrying the cursor every HEARTBEAT_MS). Session ids are not secrets: the
 * feed needs no credentials, like the JWKS.
 */
export async function revocationRoutes(app: FastifyInstance, { services }: { services: Services }): Promise<void> {
  const feed = services.revocationFeed;
  const open = new Set<() => void>();
  // Streams never go idle, so closing the server must end them itself.
  app.addHook('preClose', async () => {
    for (const end of open) end();
  });

  app.get<{ Querystring: { since?: string } }>(
    '/v1/revocations',
    { schema: { querystring: sinceQuery, response: { 200: revocationPage, ...errors(400) } } },
    async (request) => feed.page(sinceOf(request)),
  );

  app.get<{ Querystring: { since?: string } }>(
    '/v1/revocations/stream',
    {
      schema: {
        querystring: sinceQuery,
        response: {
          200: {
            description: 'Server-sent events: `revoked` {sid, revoked_at}; `heartbeat` {next_since}.',
            content: { 'text/event-stream': { schema: { type: 'string' } } },
          },
          ...errors(400, 503),
        },
      },
    },
    async (request, reply) => {
      if (open.size >= MAX_STREAMS) throw unavailable('revocation stream capacity', new Error(`${open.size} streams open`));
      const since = sinceOf(request);
      open.add(
        stream(
          reply,
          services.config.region,
          (send) => {
            const beat = () => {
              const next = feed.cursor();
              send('heartbeat', { next_since: next }, next);
            };
            const stop = feed.follow(since, (entry) => send('revoked', entry));
            beat();
            const timer = setInterval(beat, HEARTBEAT_MS);
            return () => {
              clearInterval(timer);
              stop();
            };
          },
          open,
        ),
      );
    },
  );
}

type Send = (event: string, data: unknown, id?: number) => void;

/** Takes over the response as an event stream; `start` returns its own cleanup. Returns the function that ends it. */
function stream(reply: FastifyReply, region: string, start: (send: Send) => () => void, open: Set<() => void>): () => void {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    'x-accel-buffering': 'no',
    // A stream's connection is never reused: ending the stream closes it, so shutdown does not wait for it to idle out.
    connection: 'close',
    'x-request-id': reply.request.id,
    'x-meridian-region': region,
  });
  let cleanup = (): void => {};
  let ended = false;
  const end = (): void => {
    if (ended) return;
    ended = true;
    cleanup();
    open.delete(end);
    res.end();
  };
  const send: Send = (event, data, id) => {
    if (ended) return;
    if (res.writableLength > MAX_BUFFERED_BYTES) return end();
    res.write(`${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };
  res.on('close', end);
  cleanup = start(send);
  return end;
}
