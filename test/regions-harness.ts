/**
 * Several regions in one test process: each a real app on its own PostgreSQL
 * database, listening on loopback, named in one topology file. Other regions
 * reach each one through a toggleable TCP proxy, so a test can take a region
 * off the network (`cut`) and bring it back (`heal`), or restart it on its
 * database.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startWorkerTier, type WorkerTier } from '../src/jobs/worker-tier.js';
import { freePort } from '../src/devcluster/ports.js';
import { ManualClock } from '../src/util/runtime.js';
import { createDatabase, createTestApp, REDIS_URL, type TestApp, tierDeps } from './helpers.js';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';

export interface RegionSpec {
  id: string;
  lat: number;
  lon: number;
}

export interface RegionNode {
  id: string;
  t: TestApp;
  /** The URL other regions use (through the proxy). */
  url: string;
  /** The region's own listening URL. */
  directUrl: string;
  proxy: TcpProxy;
  /** Between the region and its database: cut it to make the region unready (absent on a database the set was given). */
  dbProxy: TcpProxy | undefined;
  /** Closes the region and starts it again on the same database. */
  restart(): Promise<void>;
  /** The region's worker tier (outbox relay, replication senders), when the set runs them. */
  tier: WorkerTier | undefined;
  /** Stops the worker tier: this region's changes stay in its outbox, unsent. */
  stopWorker(): Promise<void>;
  startWorker(): Promise<void>;
}

export interface RegionSet {
  nodes: Record<string, RegionNode>;
  topologyFile: string;
  secret: string;
  clock: ManualClock;
  close(): Promise<void>;
}

export interface RegionSetOptions {
  directory?: string;
  env?: Record<string, string>;
  /** Run each region's worker tier (outbox relay and replication to the other regions). */
  workers?: boolean;
  /** Each region's peers; default: every other region. */
  peers?: Record<string, string[]>;
  /** Settings of one region only, over `env` (a region's own REDIS_URL, say). */
  regionEnv?: Record<string, Record<string, string>>;
  /** A region's database, made by the test (a failover pair, say), instead of one made and dropped here. */
  databaseUrls?: Record<string, string>;
}

export async function startRegions(specs: RegionSpec[], opts: RegionSetOptions = {}): Promise<RegionSet> {
  const clock = new ManualClock(Date.parse('2026-06-01T12:00:00Z'));
  const secret = randomBytes(32).toString('base64url');
  // Each region its own Redis namespace, as if each had its own Redis: shared keys would let one
  // region's worker take another's jobs and one region's cache answer for another.
  const run = randomBytes(4).toString('hex');
  const dir = mkdtempSync(join(tmpdir(), 'meridian-regions-'));
  const topologyFile = join(dir, 'regions.json');
  const prepared = await Promise.all(
    specs.map(async (s) => {
      const port = await freePort();
      const proxy = await startTcpProxy('127.0.0.1', port);
      const given = opts.databaseUrls?.[s.id];
      if (given) return { spec: s, port, proxy, db: { url: given, drop: async () => {} }, dbProxy: undefined, databaseUrl: given };
      const db = await createDatabase(`meridian_test_${s.id.replace(/-/g, '_')}`);
      const direct = new URL(db.url);
      const dbProxy = await startTcpProxy(direct.hostname, Number(direct.port || 5432));
      direct.port = String(dbProxy.port);
      return { spec: s, port, proxy, db, dbProxy, databaseUrl: direct.toString() };
    }),
  );
  const regions = prepared.map((p) => ({
    id: p.spec.id,
    location: { lat: p.spec.lat, lon: p.spec.lon },
    url: `http://127.0.0.1:${p.proxy.port}`,
    databaseUrl: p.databaseUrl,
    redisUrl: opts.regionEnv?.[p.spec.id]?.REDIS_URL ?? REDIS_URL,
    peers: opts.peers?.[p.spec.id] ?? specs.filter((o) => o.id !== p.spec.id).map((o) => o.id),
  }));
  writeFileSync(topologyFile, JSON.stringify({ directory: opts.directory, regions }));

  const nodes: Record<string, RegionNode> = {};
  const boot = async (p: (typeof prepared)[number]): Promise<TestApp> => {
    const t = await createTestApp({
      databaseUrl: p.databaseUrl,
      clock,
      env: {
        MERIDIAN_REGION: p.spec.id,
        MERIDIAN_REGIONS_FILE: topologyFile,
        MERIDIAN_REGION_SECRET: secret,
        MERIDIAN_REGION_TIMEOUT_MS: '1500',
        MERIDIAN_REDIS_PREFIX: `regions-${run}-${p.spec.id}`,
        ...opts.env,
        ...opts.regionEnv?.[p.spec.id],
      },
    });
    await t.app.listen({ port: p.port, host: '127.0.0.1' });
    return t;
  };
  for (const p of prepared) {
    const node: RegionNode = {
      id: p.spec.id,
      t: await boot(p),
      url: `http://127.0.0.1:${p.proxy.port}`,
      directUrl: `http://127.0.0.1:${p.port}`,
      proxy: p.proxy,
      dbProxy: p.dbProxy,
      tier: undefined,
      stopWorker: async () => {
        await node.tier?.close();
        node.tier = undefined;
      },
      startWorker: async () => {
        node.tier ??= await startWorkerTier({ ...tierDeps(node.t), clock, topology: node.t.services.regions?.topology });
      },
      restart: async () => {
        const running = node.tier !== undefined;
        await node.stopWorker();
        await node.t.close();
        node.t = await boot(p);
        if (running) await node.startWorker();
      },
    };
    nodes[p.spec.id] = node;
    if (opts.workers) await node.startWorker();
  }
  return {
    nodes,
    topologyFile,
    secret,
    clock,
    async close() {
      for (const p of prepared) await nodes[p.spec.id]?.stopWorker();
      for (const p of prepared) {
        await nodes[p.spec.id]?.t.close();
        await p.proxy.close();
        await p.dbProxy?.close();
        await p.db.drop();
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Every region fetches every other region's keys now (the background sync does it too, on its own time). */
export async function syncKeys(set: RegionSet): Promise<void> {
  for (const node of Object.values(set.nodes)) await node.t.services.regions?.keySync.syncAll();
}

/**
 * Three replicating regions in a chain, as the local cluster lays them out: a - b - c, with b
 * the username directory, each running its worker tier; keys already exchanged.
 */
export async function startChain(env?: Record<string, string>): Promise<RegionSet> {
  const set = await startRegions(
    [
      { id: 'a', lat: 38.9, lon: -77.0 },
      { id: 'b', lat: 53.3, lon: -6.3 },
      { id: 'c', lat: 1.35, lon: 103.8 },
    ],
    { directory: 'b', workers: true, peers: { a: ['b'], b: ['a', 'c'], c: ['b'] }, env },
  );
  await syncKeys(set);
  return set;
}

/**
 * eu-west, the directory, with us-east and ap-southeast as its peers (and not each other's), each
 * running its worker tier; keys already exchanged.
 */
export async function startHub(opts: Pick<RegionSetOptions, 'regionEnv'> = {}): Promise<RegionSet> {
  const set = await startRegions(
    [
      { id: 'eu-west', lat: 53.3, lon: -6.3 },
      { id: 'us-east', lat: 38.9, lon: -77.0 },
      { id: 'ap-southeast', lat: 1.35, lon: 103.8 },
    ],
    { ...opts, directory: 'eu-west', workers: true, peers: { 'eu-west': ['us-east', 'ap-southeast'], 'us-east': ['eu-west'], 'ap-southeast': ['eu-west'] } },
  );
  await syncKeys(set);
  return set;
}
