import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { type Dispatcher, Pool } from 'undici';
import { AppError, isAppError } from '../errors.js';
import { clientErrorResponder } from '../http/client-errors.js';
import { distanceKm, type GeoPoint, IpPrefixMap, parseGeoHeader } from '../regions/geo.js';
import { HealthMonitor } from './health.js';
import { isInternalPath, notOriginForm, parseRequestTarget, type RequestTarget } from './request-target.js';
import type { RegionInfo, Topology } from '../regions/topology.js';

/**
 * `meridian gateway`: one public address in front of every region. Each
 * request goes to the nearest healthy region, judged from `X-Client-Geo:
 * <lat>,<lon>` (great-circle distance) or else from the client address and
 * the topology's IP prefixes; without either, regions are tried in the order
 * the topology lists them. A region that fails its /readyz check (polled
 * every second) or refuses a connection is skipped for the next nearest
 * (and tried last, should every other region fail too).
 *
 * Connections to a region are kept alive and reused (an undici Pool per
 * region). The request body is read first (bounded), so that a request can
 * go to the next region when a connection cannot be made. Once a request is
 * written on a connection, the region may have received it: a request that
 * changes state (POST) is then never sent again, there or elsewhere (a
 * registration must not run twice), and a failure is a 503 and the region is
 * skipped from then on; a safe method goes to the next region. Responses are
 * streamed back. Every response names the region that served it in
 * X-Meridian-Region ("gateway" for the gateway's own errors).
 *
 * The client never chooses where the gateway connects: only an origin-form
 * target is accepted, its path is normalised once (request-target.ts), the
 * /internal/ rule is applied to that path, and that same path goes to the
 * region's own origin from the topology.
 */

export interface GatewayOptions {
  topology: Topology;
  port: number;
  host: string;
  logger: Logger;
  /** Largest request body accepted, bytes. */
  bodyLimit: number;
  /** Milliseconds between health checks of each region. */
  healthIntervalMs?: number;
  /** Milliseconds a region may take to accept a connection before the next one is tried. */
  connectTimeoutMs?: number;
  /** Milliseconds a region may stay silent once it has the request. */
  responseTimeoutMs?: number;
}

export interface Gateway {
  url: string;
  health: HealthMonitor;
  close(): Promise<void>;
}

// Headers that describe one connection, not the message (RFC 9110 §7.6.1).
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
  'proxy-authenticate',
  'proxy-authorization',
]);

function endToEnd(headers: Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  return out;
}

/** Regions in the order to try them for this client. */
export function routeOrder(topology: Topology, prefixes: IpPrefixMap, geo: GeoPoint | undefined, clientIp: string | undefined): RegionInfo[] {
  const mapped = geo ? undefined : prefixes.regionFor(clientIp);
  const origin = geo ?? topology.regions.find((r) => r.id === mapped)?.location;
  if (!origin) return [...topology.regions];
  return [...topology.regions].sort((a, b) => distanceKm(origin, a.location) - distanceKm(origin, b.location));
}

/** The region failed before answering; `delivered` when the request may have reached it. */
class Unanswered extends Error {
  constructor(
    message: string,
    readonly delivered: boolean,
  ) {
    super(message);
  }
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

const isUsageError = (err: Error) => ['UND_ERR_INVALID_ARG', 'UND_ERR_NOT_SUPPORTED'].includes((err as Error & { code?: string }).code ?? '');

export async function startGateway(o: GatewayOptions): Promise<Gateway> {
  const health = new HealthMonitor({ regions: o.topology.regions, intervalMs: o.healthIntervalMs ?? 1000, logger: o.logger });
  const prefixes = new IpPrefixMap(o.topology.ipPrefixes);
  const connectTimeout = o.connectTimeoutMs ?? 2000;
  const responseTimeout = o.responseTimeoutMs ?? 15_000;

  const fail = (res: ServerResponse, err: AppError) => {
    if (res.headersSent) return void res.destroy();
    const { headers, body } = ownAnswer(err);
    res.writeHead(err.status, headers).end(body);
  };

  // Keep-alive connections per region. Idle ones are closed before the region would close them (undici follows the
  // region's Keep-Alive: timeout, less a margin, and checks an idle socket for a close before writing on it).
  const pools = new Map(
    o.topology.regions.map((r) => [
      r.id,
      new Pool(new URL(r.url).origin, { connect: { timeout: connectTimeout }, headersTimeout: responseTimeout, bodyTimeout: responseTimeout }),
    ]),
  );

  /** Sends the request to one region and streams its answer back; Unanswered when it failed before answering. */
  const forward = (region: RegionInfo, target: RequestTarget, req: IncomingMessage, body: Buffer, res: ServerResponse) =>
    new Promise<void>((resolve, reject) => {
      const clientIp = req.socket.remoteAddress ?? '';
      const forwardedFor = req.headers['x-forwarded-for'];
      const headers: Record<string, string | string[]> = {
        ...endToEnd(req.headers),
        'x-forwarded-for': forwardedFor ? `${String(forwardedFor)}, ${clientIp}` : clientIp,
        'content-length': String(body.length),
      };
      // Node's server has answered Expect: 100-continue already (the body is read); undici refuses to send it.
      delete headers.expect;
      // Set once undici writes the request on a connection: from then on the region may have it. undici
      // sends a request once (it resends only pipelined ones, and pipelines no POST), so a failure after
      // that is never retried under the gateway, and one before it (no connection) is safe to send elsewhere.
      let sent = false;
      let answered = false;
      let gone = false;
      let controller: Dispatcher.DispatchController | undefined;
      const leave = () => controller?.abort(new Error('client went away'));
      res.on('close', () => {
        gone = true;
        leave();
      });
      (pools.get(region.id) as Pool).dispatch(
        { path: target.path + target.query, method: req.method as Dispatcher.HttpMethod, headers, body },
        {
          onRequestStart(c) {
            controller = c;
            sent = true;
            if (gone) leave();
          },
          onResponseStart(_c, status, answer) {
            // An informational answer (103 Early Hints) is not passed on, as before: the final one follows.
            if (status < 200) return;
            answered = true;
            const out = endToEnd(answer);
            out['x-meridian-region'] ??= region.id;
            out.via = answer.via ? `${[answer.via].flat().join(', ')}, 1.1 gateway` : '1.1 gateway';
            res.writeHead(status, out);
          },
          onResponseData(c, chunk) {
            if (res.write(chunk)) return;
            c.pause();
            res.once('drain', () => c.resume());
          },
          onResponseEnd() {
            res.end();
            resolve();
          },
          onResponseError(_c, err) {
            if (gone) return resolve();
            // A request undici refuses to build is the gateway's fault, not the region's.
            if (answered || isUsageError(err)) return reject(err);
            reject(new Unanswered(err.message, sent));
          },
        },
      );
    });

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const target = parseRequestTarget(req.url ?? '');
    if (isInternalPath(target.path)) return fail(res, new AppError('not_found'));
    const body = await readBody(req, o.bodyLimit);
    if (!body) return fail(res, new AppError('payload_too_large'));
    const order = routeOrder(o.topology, prefixes, parseGeoHeader(req.headers['x-client-geo']), req.socket.remoteAddress);
    // Regions failing their checks come last, as a last resort: a check can be a second out of date.
    const healthyFirst = [...order.filter((r) => health.isHealthy(r.id)), ...order.filter((r) => !health.isHealthy(r.id))];
    for (const region of healthyFirst) {
      try {
        return await forward(region, target, req, body, res);
      } catch (err) {
        if (!(err instanceof Unanswered)) throw err;
        health.markDown(region.id, err.message);
        if (err.delivered && !SAFE_METHODS.has(req.method ?? '')) throw err;
      }
    }
    fail(res, new AppError('temporarily_unavailable', { description: 'No region is reachable; try again later.', retryAfter: 1 }));
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      // The gateway's own refusals (a malformed target) are answers, not failures.
      if (isAppError(err)) return fail(res, err);
      o.logger.warn({ err, url: req.url }, 'gateway could not complete a request');
      fail(res, new AppError('temporarily_unavailable', { retryAfter: 1 }));
    });
  });
  // Node hands CONNECT (authority-form, a tunnel to a host the client names) here instead of to the handler.
  server.on('connect', (_req: IncomingMessage, socket: Duplex) => {
    const err = notOriginForm();
    const { headers, body } = ownAnswer(err);
    const fields = Object.entries({ ...headers, 'content-length': String(Buffer.byteLength(body)), connection: 'close' }).map(
      ([name, value]) => `${name}: ${value}\r\n`,
    );
    socket.end(`HTTP/1.1 ${err.status} ${http.STATUS_CODES[err.status]}\r\n${fields.join('')}\r\n${body}`);
  });
  server.requestTimeout = responseTimeout + connectTimeout + 5000;
  server.on('clientError', clientErrorResponder(o.logger, { 'x-meridian-region': 'gateway' }));
  await new Promise<void>((resolve) => server.listen(o.port, o.host, resolve));
  health.start();
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${o.host === '0.0.0.0' ? '127.0.0.1' : o.host}:${port}`,
    health,
    async close() {
      health.stop();
      server.closeAllConnections();
      await Promise.all([new Promise<void>((resolve) => server.close(() => resolve())), ...[...pools.values()].map((pool) => pool.destroy())]);
    },
  };
}

/** Headers and body of the gateway's own error answers, in the API's error shape. */
function ownAnswer(err: AppError): { headers: Record<string, string>; body: string } {
  const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'x-meridian-region': 'gateway' };
  if (err.retryAfter !== undefined) headers['retry-after'] = String(err.retryAfter);
  return { headers, body: JSON.stringify({ error: err.code, error_description: err.description }) };
}

/** The whole request body, or null when it is larger than `limit`. */
async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) return null;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
