import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../src/observability/logger.js';
import { type Gateway, startGateway } from '../src/gateway/gateway.js';
import { loadTopologyFile, type Topology } from '../src/regions/topology.js';
import { eventually, PASSWORD } from './helpers.js';
import { type RegionSet, startRegions } from './regions-harness.js';

const PARIS = '48.86,2.35';
const TOKYO = '35.68,139.69';
const NEW_YORK = '40.71,-74.01';

describe('gateway', () => {
  let set: RegionSet;
  let topology: Topology;
  let gateway: Gateway;
  const logger = createLogger('silent');

  const start = (t: Topology) => startGateway({ topology: t, port: 0, host: '127.0.0.1', logger, bodyLimit: 16_384, healthIntervalMs: 200 });
  const get = (g: Gateway, geo?: string, path = '/healthz') => fetch(`${g.url}${path}`, { headers: geo ? { 'x-client-geo': geo } : {} });
  const servedBy = async (g: Gateway, geo?: string) => {
    const res = await get(g, geo);
    await res.arrayBuffer();
    return `${res.status} ${res.headers.get('x-meridian-region')}`;
  };

  before(async () => {
    set = await startRegions([
      { id: 'frankfurt', lat: 50.11, lon: 8.68 },
      { id: 'singapore', lat: 1.35, lon: 103.82 },
      { id: 'virginia', lat: 38.95, lon: -77.45 },
    ]);
    topology = loadTopologyFile(set.topologyFile);
    gateway = await start(topology);
  });
  after(async () => {
    await gateway.close();
    await set.close();
  });

  it('sends each client to the region nearest its X-Client-Geo, and says which region served it', async () => {
    assert.equal(await servedBy(gateway, PARIS), '200 frankfurt');
    assert.equal(await servedBy(gateway, TOKYO), '200 singapore');
    assert.equal(await servedBy(gateway, NEW_YORK), '200 virginia');
    // Bodies and statuses pass through both ways.
    const res = await fetch(`${gateway.url}/v1/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-client-geo': TOKYO },
      body: JSON.stringify({ username: 'gateway-user', password: PASSWORD }),
    });
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('x-meridian-region'), 'singapore');
    assert.equal(((await res.json()) as { home_region: string }).home_region, 'singapore');
    assert.equal(res.headers.get('via'), '1.1 gateway');
    // Streamed, not buffered: the first event of a stream that never ends comes through.
    const abort = new AbortController();
    const stream = await fetch(`${gateway.url}/v1/revocations/stream`, { headers: { 'x-client-geo': NEW_YORK }, signal: abort.signal });
    assert.equal(stream.headers.get('x-meridian-region'), 'virginia');
    const first = await stream.body!.getReader().read();
    assert.match(Buffer.from(first.value!).toString(), /event: heartbeat/);
    abort.abort();
  });

  it('without a location hint uses the IP prefix map, else the order of the topology', async () => {
    assert.equal(await servedBy(gateway), '200 frankfurt');
    const byPrefix = await start({ ...topology, ipPrefixes: [{ prefix: '127.0.0.0/8', region: 'virginia' }] });
    try {
      assert.equal(await servedBy(byPrefix), '200 virginia');
      // The client's own hint wins over its address.
      assert.equal(await servedBy(byPrefix, TOKYO), '200 singapore');
    } finally {
      await byPrefix.close();
    }
  });

  it('fails over to the next nearest region when one stops, and comes back when it returns', async () => {
    set.nodes.frankfurt!.proxy.cut();
    try {
      // Paris: Frankfurt, then Virginia (about 6,200 km), then Singapore (about 10,700 km).
      assert.equal(await servedBy(gateway, PARIS), '200 virginia');
      set.nodes.frankfurt!.proxy.heal();
      await eventually(() => gateway.health.isHealthy('frankfurt'), 10_000, 'frankfurt healthy');
      // A POST that may have reached a failing region is not sent to another one (it could run twice):
      // that one request gets a 503, and the next goes to the next nearest region.
      set.nodes.frankfurt!.proxy.cut();
      const login = () =>
        fetch(`${gateway.url}/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-client-geo': PARIS }, body: '{}' });
      const first = await login();
      assert.equal(`${first.status} ${first.headers.get('x-meridian-region')}`, '503 gateway');
      assert.ok(Number(first.headers.get('retry-after')) > 0);
      const second = await login();
      assert.equal(`${second.status} ${second.headers.get('x-meridian-region')}`, '400 virginia');
      set.nodes.virginia!.proxy.cut();
      assert.equal(await servedBy(gateway, PARIS), '200 singapore');
    } finally {
      set.nodes.frankfurt!.proxy.heal();
      set.nodes.virginia!.proxy.heal();
    }
    await eventually(() => gateway.health.isHealthy('frankfurt'), 10_000, 'frankfurt healthy');
    assert.equal(await servedBy(gateway, PARIS), '200 frankfurt');
  });

  it('routes around a region whose /readyz fails even though it still accepts connections', async () => {
    set.nodes.frankfurt!.dbProxy!.cut();
    try {
      await eventually(() => !gateway.health.isHealthy('frankfurt') && gateway.health.isHealthy('virginia'), 10_000, 'frankfurt unhealthy, virginia healthy');
      assert.equal(await servedBy(gateway, PARIS), '200 virginia');
    } finally {
      set.nodes.frankfurt!.dbProxy!.heal();
    }
    await eventually(() => gateway.health.isHealthy('frankfurt'), 10_000, 'frankfurt healthy');
    assert.equal(await servedBy(gateway, PARIS), '200 frankfurt');
  });

  it('answers for itself when no region can serve, and refuses internal routes and oversized bodies', async () => {
    for (const node of Object.values(set.nodes)) node.proxy.cut();
    try {
      const res = await get(gateway, PARIS);
      assert.equal(res.status, 503);
      assert.equal(res.headers.get('x-meridian-region'), 'gateway');
      assert.ok(Number(res.headers.get('retry-after')) > 0);
      assert.equal(((await res.json()) as { error: string }).error, 'temporarily_unavailable');
    } finally {
      for (const node of Object.values(set.nodes)) node.proxy.heal();
    }
    const internal = await fetch(`${gateway.url}/internal/v1/keys`, { headers: { authorization: `Bearer ${set.secret}` } });
    assert.equal(`${internal.status} ${internal.headers.get('x-meridian-region')}`, '404 gateway', 'internal routes are not reachable through the gateway');
    const big = await fetch(`${gateway.url}/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: 'x'.repeat(20_000) });
    assert.equal(big.status, 413);
    assert.equal(big.headers.get('x-meridian-region'), 'gateway');
    assert.equal(((await big.json()) as { error: string }).error, 'payload_too_large');
    // Refused by Node's parser, before the gateway's handler: the same error shape all the same.
    const headers = await fetch(`${gateway.url}/v1/auth/me`, { headers: { authorization: `Bearer ${'A'.repeat(20_000)}` } });
    assert.equal(`${headers.status} ${headers.headers.get('x-meridian-region')}`, '431 gateway');
    assert.deepEqual(await headers.json(), { error: 'invalid_request', error_description: 'The request headers are too large.' });
  });
});
