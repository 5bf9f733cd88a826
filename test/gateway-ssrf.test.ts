import assert from 'node:assert/strict';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../src/observability/logger.js';
import { type Gateway, startGateway } from '../src/gateway/gateway.js';
import type { Topology } from '../src/regions/topology.js';

/**
 * The gateway connects only to its regions, whatever request target a client
 * writes. The region is a plain HTTP server that records the targets it
 * receives (the gateway's contract with a region is HTTP alone), and a second
 * listener stands for a host a client might name.
 */

interface Answer {
  status: number;
  region: string | undefined;
  body: string;
}

/** Sends `target` on the request line exactly as written (fetch would normalise it first) and reads the answer. */
function send(url: string, method: string, target: string): Promise<Answer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request({ hostname, port, method, path: target, agent: false, headers: { host: 'gateway.test' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, region: res.headers['x-meridian-region'] as string | undefined, body: Buffer.concat(chunks).toString() }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

/** CONNECT has no response object in Node's client: write it on a socket and read the raw answer. */
function sendConnect(url: string, authority: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks).toString()));
    socket.end(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`);
  });
}

async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('gateway request targets', () => {
  const logger = createLogger('silent');
  // What the region received, health checks aside.
  const received: string[] = [];
  let trapConnections = 0;
  const region = http.createServer((req, res) => {
    if (req.url !== '/readyz') received.push(req.url ?? '');
    res.writeHead(200, { 'content-type': 'application/json', 'x-meridian-region': 'solo' }).end('{}');
  });
  const trap = http.createServer((_req, res) => res.writeHead(200).end('trap'));
  trap.on('connection', () => trapConnections++);
  let trapUrl: string;
  let gateway: Gateway;

  before(async () => {
    const regionUrl = await listen(region);
    trapUrl = await listen(trap);
    const topology: Topology = {
      regions: [{ id: 'solo', location: { lat: 0, lon: 0 }, url: regionUrl, databaseUrl: 'postgres://unused', redisUrl: 'redis://unused', peers: [] }],
      directory: 'solo',
      ipPrefixes: [],
    };
    gateway = await startGateway({ topology, port: 0, host: '127.0.0.1', logger, bodyLimit: 16_384, healthIntervalMs: 60_000 });
  });
  after(async () => {
    await gateway.close();
    region.closeAllConnections();
    trap.closeAllConnections();
    await Promise.all([region, trap].map((s) => new Promise((resolve) => s.close(resolve))));
  });

  /** The gateway answered for itself with `status` and `code`; neither the region nor any other host saw the request. */
  const refused = async (method: string, target: string, status: number, code: string) => {
    received.length = 0;
    const trapBefore = trapConnections;
    const answer = await send(gateway.url, method, target);
    assert.equal(`${answer.status} ${answer.region}`, `${status} gateway`);
    const body = JSON.parse(answer.body) as { error: string; error_description: string };
    assert.equal(body.error, code);
    assert.ok(body.error_description);
    assert.deepEqual(received, [], 'the request reached the region');
    assert.equal(trapConnections, trapBefore, 'the gateway connected to a host the client named');
  };

  describe('refuses targets that name a host, and never connects to it', () => {
    it('//<host>/x', () => refused('GET', `//${new URL(trapUrl).host}/x`, 400, 'invalid_request'));
    it('absolute-form http://<host>/x', () => refused('GET', `${trapUrl}/x`, 400, 'invalid_request'));
    it('authority-form CONNECT <host>', async () => {
      const trapBefore = trapConnections;
      const answer = await sendConnect(gateway.url, new URL(trapUrl).host);
      const [head = '', body = ''] = answer.split('\r\n\r\n');
      assert.match(head, /^HTTP\/1\.1 400 /);
      assert.match(head, /\r\nx-meridian-region: gateway\r\n/);
      assert.equal((JSON.parse(body) as { error: string }).error, 'invalid_request');
      assert.equal(trapConnections, trapBefore, 'the gateway connected to a host the client named');
    });
    it('OPTIONS *', () => refused('OPTIONS', '*', 400, 'invalid_request'));
  });

  describe('applies the /internal/ rule to the normalised path', () => {
    const targets = [
      '/internal/v1/keys',
      '/x/../internal/v1/keys',
      '/%2e%2e/internal/v1/keys',
      '/%2E%2E/internal/v1/keys',
      '/v1/.%2e/.%2E/internal/v1/keys',
      '/./internal/v1/keys',
      '/%69nternal/v1/keys',
      '/INTERNAL/v1/keys',
      '/internal',
    ];
    for (const target of targets) it(target, () => refused('GET', target, 404, 'not_found'));
  });

  describe('refuses what routers read differently: escaped slashes, backslashes, empty segments, broken escapes', () => {
    const targets = [
      '//internal/v1/keys',
      '/v1%2F..%2Finternal/v1/keys',
      '/internal/..%2f../v1',
      '/v1%5c..%5cinternal/v1/keys',
      '/v1\\..\\internal/v1/keys',
      '/v1//x',
      '/v1/%zz',
      '/v1/%2',
      '/v1?a#b',
    ];
    for (const target of targets) it(target, () => refused('GET', target, 400, 'invalid_request'));
  });

  describe('forwards the normalised path and the query as sent', () => {
    const cases = [
      ['/healthz', '/healthz'],
      ['/v1/users/me?x=%2e%2e&y=/../internal', '/v1/users/me?x=%2e%2e&y=/../internal'],
      ['/v1/a/./b/../c', '/v1/a/c'],
      ['/v1/x/..', '/v1/'],
      ['/v1/%7euser%41/%c3%a9', '/v1/~userA/%C3%A9'],
      // One decoding pass: an escaped "%" stays escaped, so no later decoding makes a dot of it.
      ['/%252e%252e/internal/v1/keys', '/%252e%252e/internal/v1/keys'],
    ] as const;
    for (const [target, expected] of cases) {
      it(target, async () => {
        received.length = 0;
        const answer = await send(gateway.url, 'GET', target);
        assert.equal(`${answer.status} ${answer.region}`, '200 solo');
        assert.deepEqual(received, [expected]);
      });
    }
  });
});
