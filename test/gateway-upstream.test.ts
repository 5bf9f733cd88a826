/**
 * The gateway's connections to its regions: kept alive and reused, and a POST
 * that a region may have received is never sent a second time. The regions
 * are plain HTTP servers that record what reaches them.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../src/observability/logger.js';
import { type Gateway, startGateway } from '../src/gateway/gateway.js';
import type { RegionInfo, Topology } from '../src/regions/topology.js';

async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const regionAt = (id: string, url: string): RegionInfo => ({
  id,
  location: { lat: 0, lon: 0 },
  url,
  databaseUrl: 'postgres://unused',
  redisUrl: 'redis://unused',
  peers: [],
});

describe('gateway connections to regions', () => {
  const logger = createLogger('silent');
  // The connections that carried a request of the test (health checks have their own).
  const sockets = new Set<Socket>();
  const posts: Socket[] = [];
  const elsewhere: string[] = [];
  // Answers GETs; reads a POST whole, then dies without answering, as a region crashing mid-request would.
  const dying = http.createServer((req, res) => {
    if (req.url === '/readyz') return res.writeHead(200).end('{}');
    sockets.add(req.socket);
    if (req.method !== 'POST') return res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    req.resume();
    req.on('end', () => {
      posts.push(req.socket);
      if (req.url === '/v1/answered') res.writeHead(200).end('{}');
      else req.socket.destroy();
    });
  });
  const next = http.createServer((req, res) => {
    if (req.url !== '/readyz') elsewhere.push(`${req.method} ${req.url}`);
    res.writeHead(200).end('{}');
  });
  let topology: Topology;
  /** Runs `test` against a new gateway, with the regions' records cleared. */
  const withGateway = async (test: (g: Gateway) => Promise<void>) => {
    sockets.clear();
    posts.length = 0;
    const g = await startGateway({ topology, port: 0, host: '127.0.0.1', logger, bodyLimit: 16_384, healthIntervalMs: 60_000 });
    try {
      await test(g);
    } finally {
      await g.close();
    }
  };

  before(async () => {
    // No location and no IP prefixes: the gateway tries the regions in this order.
    topology = { regions: [regionAt('first', await listen(dying)), regionAt('second', await listen(next))], directory: 'first', ipPrefixes: [] };
  });
  after(async () => {
    for (const server of [dying, next]) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('reuses one kept-alive connection to a region for requests one after another', () =>
    withGateway(async (g) => {
      for (let i = 0; i < 5; i++) {
        const res = await fetch(`${g.url}/orders?page=${i}`);
        assert.equal(`${res.status} ${res.headers.get('x-meridian-region')} ${await res.text()}`, '200 first ok');
      }
      assert.equal(sockets.size, 1);
    }));

  it('sends a POST on a new connection, once, when the region has closed the idle one', () =>
    withGateway(async (g) => {
      assert.equal((await fetch(`${g.url}/warm`)).status, 200);
      const [idle] = sockets;
      // The region closes the connection while it is idle (its keep-alive timeout, a restart).
      await new Promise<void>((resolve) => idle?.end(() => resolve()));
      const res = await fetch(`${g.url}/v1/answered`, { method: 'POST', body: '{}' });
      assert.equal(`${res.status} ${res.headers.get('x-meridian-region')}`, '200 first');
      assert.equal(posts.length, 1);
      assert.notEqual(posts[0], idle);
    }));

  it('answers 503 to a POST whose region read it and died, without sending it again there or elsewhere', () =>
    withGateway(async (g) => {
      // A first request leaves an idle kept-alive connection: the POST goes on it.
      assert.equal((await fetch(`${g.url}/warm`)).status, 200);
      const res = await fetch(`${g.url}/v1/auth/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"username":"once"}' });
      assert.equal(`${res.status} ${res.headers.get('x-meridian-region')} ${res.headers.get('retry-after')}`, '503 gateway 1');
      assert.equal(((await res.json()) as { error: string }).error, 'temporarily_unavailable');
      assert.equal(posts.length, 1, 'the region saw the POST once');
      assert.equal(sockets.size, 1, 'the POST went on the reused connection');
      assert.deepEqual(elsewhere, [], 'no other region saw it');
      // The region is skipped from then on.
      const later = await fetch(`${g.url}/orders`);
      assert.equal(`${later.status} ${later.headers.get('x-meridian-region')}`, '200 second');
    }));
});
