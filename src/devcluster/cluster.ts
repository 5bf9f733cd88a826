import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { MASTER_KEY_FILE } from '../auth/secrets.js';
import { ConfigError } from '../config/load.js';
import { provisionDatabases } from '../storage/storage.js';
import { distanceKm, type GeoPoint } from '../regions/geo.js';
import { type FailoverPlan, type PairPlan, pairUrl, planFailover, preparePairDir, sentinelProcesses, sentinelUrl, startPair } from './failover.js';
import { canConnect, freePort } from './ports.js';
import { type ProcessSpec, Supervisor, tail } from './processes.js';
import { formRedisCluster, planRedisCluster, type RedisClusterPlan, redisClusterProcesses, redisClusterUrl } from './redis-cluster.js';

/**
 * `meridian cluster`: three regions on this machine. Each region gets a
 * database on the local PostgreSQL server, its own redis-server, its API
 * processes and a `meridian worker`; a gateway listens in front of them. The endpoints go
 * to <data dir>/cluster.json once every region is ready; logs go to
 * <data dir>/cluster/logs/.
 */

export interface ClusterRegionSpec {
  id: string;
  location: GeoPoint;
}

export const DEFAULT_CLUSTER_REGIONS: readonly ClusterRegionSpec[] = [
  { id: 'us-east', location: { lat: 38.9, lon: -77.0 } },
  { id: 'eu-west', location: { lat: 53.3, lon: -6.3 } },
  { id: 'ap-southeast', location: { lat: 1.35, lon: 103.8 } },
];

export interface ClusterOptions {
  /** The PostgreSQL server; each region gets database <dbPrefix>_<region> on it. */
  postgresUrl: string;
  dbPrefix: string;
  dataDir: string;
  host: string;
  gatewayPort: number;
  /** How to run the `meridian` command: executable and leading arguments. */
  meridian: readonly string[];
  /** The environment for a child, from overrides of this process's. */
  env: (overrides: Record<string, string>) => NodeJS.ProcessEnv;
  logLevel: string;
  /** API processes per region (`meridian start --workers`). */
  apiProcesses: number;
  logger: Logger;
  regions?: readonly ClusterRegionSpec[];
  readyTimeoutMs?: number;
  /**
   * The first region with no single point of failure: PostgreSQL as a primary
   * and a synchronous standby under pg_auto_failover, Redis as a master and a
   * replica watched by three Sentinels (src/devcluster/failover.ts).
   */
  ha?: boolean;
  /** PostgreSQL databases per region (MERIDIAN_SHARDS beside DATABASE_URL); default 1. */
  shards?: number;
  /** Each region (but one run with --ha) on a Redis Cluster of three masters and three replicas (src/devcluster/redis-cluster.ts). */
  redisCluster?: boolean;
}

/** What cluster.json holds. */
export interface ClusterInfo {
  gateway: string;
  regions: { id: string; url: string; location: GeoPoint; redisUrl: string; databaseUrl: string }[];
  processes: { name: string; pid: number }[];
}

interface PlannedRegion extends ClusterRegionSpec {
  port: number;
  url: string;
  redisPort: number;
  redisUrl: string;
  database: string;
  databaseUrl: string;
  /** The region's other databases (--shards), as MERIDIAN_SHARDS pairs. */
  shardDatabases: { name: string; database: string; url: string }[];
  peers: string[];
  /** Set for the region run with failover (--ha). */
  ha?: FailoverPlan;
  /** Set for a region on a Redis Cluster (--redis-cluster). */
  redisCluster?: RedisClusterPlan;
}

/**
 * Each region's replication peers: its nearest other region, and every
 * region whose nearest it is (so the relation is symmetric).
 */
export function nearestPeers(regions: readonly ClusterRegionSpec[]): Map<string, string[]> {
  const nearest = new Map(
    regions.map((r) => {
      const others = regions.filter((o) => o.id !== r.id).sort((a, b) => distanceKm(r.location, a.location) - distanceKm(r.location, b.location));
      return [r.id, others[0]?.id] as const;
    }),
  );
  return new Map(
    regions.map((r) => [r.id, regions.filter((o) => o.id !== r.id && (nearest.get(r.id) === o.id || nearest.get(o.id) === r.id)).map((o) => o.id)]),
  );
}

export class LocalCluster {
  private readonly dir: string;
  private readonly infoFile: string;
  private readonly supervisor: Supervisor;
  private readonly pairDirs: string[] = [];

  constructor(private readonly o: ClusterOptions) {
    if (!/^[a-z_][a-z0-9_]{0,39}$/.test(o.dbPrefix)) throw new ConfigError(`--db-prefix "${o.dbPrefix}" must be lower-case letters, digits and _`);
    if (!Number.isInteger(o.apiProcesses) || o.apiProcesses < 1 || o.apiProcesses > 64) throw new ConfigError('--workers must be a whole number from 1 to 64');
    this.dir = join(o.dataDir, 'cluster');
    this.infoFile = join(o.dataDir, 'cluster.json');
    this.supervisor = new Supervisor(join(this.dir, 'logs'), o.logger);
  }

  /** Starts everything and resolves once every region is ready; on failure stops what it started and throws. */
  async start(): Promise<ClusterInfo> {
    try {
      return await this.startAll();
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  async stop(): Promise<void> {
    rmSync(this.infoFile, { force: true });
    await this.supervisor.stopAll();
    // Made anew at every start: nothing in them outlives the cluster.
    for (const dir of this.pairDirs) rmSync(dir, { recursive: true, force: true });
  }

  private async startAll(): Promise<ClusterInfo> {
    const { o } = this;
    mkdirSync(this.dir, { recursive: true });
    const regions = await this.plan();
    const gateway = `http://${o.host}:${o.gatewayPort}`;
    const topologyFile = join(this.dir, 'regions.json');
    writeFileSync(topologyFile, JSON.stringify({ directory: regions[0]?.id, regions: regions.map(topologyEntry) }, null, 2));
    // A region without its master key generates a new one, which cannot decrypt the signing keys its
    // database holds from before. The databases are the cluster's own (named with its prefix), so then
    // they are all made again, and the other keys removed: the regions start afresh together.
    const keyFiles = regions.map((r) => join(this.dir, r.id, MASTER_KEY_FILE));
    // A failover pair is made anew at every start, so the other regions' databases, holding its past, are too.
    const fresh = !!o.ha || !keyFiles.every((f) => existsSync(f));
    if (fresh) for (const f of keyFiles) rmSync(f, { force: true });
    const dropped = await provisionDatabases(
      o.postgresUrl,
      regions.filter((r) => !r.ha).flatMap((r) => [r.database, ...r.shardDatabases.map((d) => d.database)]),
      { fresh, prefix: o.dbPrefix },
    );
    if (dropped.length && !o.ha) o.logger.warn({ databases: dropped }, `no master keys in ${this.dir}: the cluster's databases were made again, empty`);

    const secret = randomBytes(32).toString('base64url');
    const shared = { MERIDIAN_REGIONS_FILE: topologyFile, MERIDIAN_REGION_SECRET: secret, HOST: o.host, LOG_LEVEL: o.logLevel };
    const regionEnv = (r: PlannedRegion, extra: Record<string, string> = {}) =>
      o.env({
        ...shared,
        ...extra,
        MERIDIAN_REGION: r.id,
        PORT: String(r.port),
        DATABASE_URL: r.databaseUrl,
        MERIDIAN_SHARDS: r.shardDatabases.map((d) => `${d.name}=${d.url}`).join(' '),
        REDIS_URL: r.redisUrl,
        MERIDIAN_DATA_DIR: join(this.dir, r.id),
        // One issuer for the whole service: tokens from any region verify in every region.
        MERIDIAN_ISSUER: gateway,
        // Each region its own master key, generated into its data directory.
        MERIDIAN_MASTER_KEY: '',
        // Requests come through the gateway on loopback, which sets X-Forwarded-For.
        MERIDIAN_TRUST_PROXY: 'true',
      });
    const meridian = (name: string, args: string[], env: NodeJS.ProcessEnv): ProcessSpec => ({
      name,
      command: o.meridian[0] as string,
      args: [...o.meridian.slice(1), ...args],
      env,
    });
    // The processes of one region, started once its Redis is up.
    const regionProcesses = (r: PlannedRegion): ProcessSpec[] => [
      meridian(`${r.id}/api`, ['start', '--workers', String(o.apiProcesses)], regionEnv(r)),
      // Its /metrics on any free port: three workers on one machine.
      meridian(`${r.id}/worker`, ['worker'], regionEnv(r, { MERIDIAN_WORKER_METRICS_PORT: '0' })),
    ];

    for (const r of regions) for (const p of redisProcesses(r, join(this.dir, r.id), o.env({}))) this.supervisor.start(p);
    await this.waitFor('Redis', () => Promise.all(regions.flatMap(redisPorts).map((port) => canConnect(o.host, port))));
    for (const r of regions) if (r.redisCluster) await formRedisCluster(r.redisCluster);
    for (const r of regions) if (r.ha) await this.startPair(r.id, r.ha.pair);
    for (const r of regions) for (const p of regionProcesses(r)) this.supervisor.start(p);
    await this.waitFor('every region to be ready', () => Promise.all(regions.map((r) => answers200(`${r.url}/readyz`))));
    // Started last, so that its first health checks find every region ready.
    this.supervisor.start(meridian('gateway', ['gateway'], o.env({ ...shared, PORT: String(o.gatewayPort) })));
    await this.waitFor('the gateway', async () => [await answers200(`${gateway}/healthz`)]);

    const info: ClusterInfo = {
      gateway,
      regions: regions.map((r) => ({ id: r.id, url: r.url, location: r.location, redisUrl: r.redisUrl, databaseUrl: r.databaseUrl })),
      processes: this.supervisor.pids(),
    };
    // Written whole and renamed, so a reader never sees half a file.
    writeFileSync(`${this.infoFile}.tmp`, `${JSON.stringify(info, null, 2)}\n`);
    renameSync(`${this.infoFile}.tmp`, this.infoFile);
    return info;
  }

  /** A region's PostgreSQL pair, made anew at every start. */
  private async startPair(region: string, pair: PairPlan): Promise<void> {
    rmSync(pair.dir, { recursive: true, force: true });
    preparePairDir(pair.dir);
    this.pairDirs.push(pair.dir);
    const launcher = {
      start: (spec: ProcessSpec) => this.supervisor.start(spec),
      check: () => {
        const gone = this.supervisor.exited();
        if (gone) throw new Error(`${gone.name} exited; its log (${gone.log}) ends:\n${tail(gone.log)}`);
      },
    };
    await startPair(pair, `${region}/`, launcher, this.o.env({}), this.o.readyTimeoutMs ?? 120_000);
  }

  private async plan(): Promise<PlannedRegion[]> {
    const specs = this.o.regions ?? DEFAULT_CLUSTER_REGIONS;
    const peers = nearestPeers(specs);
    const planned: PlannedRegion[] = [];
    for (const s of specs) {
      const port = await freePort(this.o.host);
      const redisPort = await freePort(this.o.host);
      const database = `${this.o.dbPrefix}_${s.id.replace(/-/g, '_')}`;
      const databaseUrl = new URL(this.o.postgresUrl);
      databaseUrl.pathname = `/${database}`;
      const shardDatabases = Array.from({ length: (this.o.shards ?? 1) - 1 }, (_, i) => {
        const url = new URL(databaseUrl);
        url.pathname = `/${database}_s${i + 1}`;
        return { name: `s${i + 1}`, database: `${database}_s${i + 1}`, url: url.toString() };
      });
      const ha =
        this.o.ha && planned.length === 0
          ? await planFailover({ host: this.o.host, region: s.id, database, redisPort, redisDir: join(this.dir, s.id, 'redis'), dbPrefix: this.o.dbPrefix })
          : undefined;
      // The --ha region keeps its Sentinel set: Sentinel and Cluster are two answers to one question.
      const redisCluster = this.o.redisCluster && !ha ? await planRedisCluster(this.o.host, join(this.dir, s.id, 'redis-cluster')) : undefined;
      planned.push({
        ...s,
        port,
        url: `http://${this.o.host}:${port}`,
        redisPort,
        redisUrl: ha ? sentinelUrl(ha.redis) : redisCluster ? redisClusterUrl(redisCluster) : `redis://${this.o.host}:${redisPort}`,
        database,
        databaseUrl: ha ? pairUrl(ha.pair) : databaseUrl.toString(),
        // The failover pair is one database: --ha and --shards do not combine in the first region.
        shardDatabases: ha ? [] : shardDatabases,
        peers: peers.get(s.id) ?? [],
        ha,
        redisCluster,
      });
    }
    return planned;
  }

  /** Polls `check` until it holds; fails when a process has exited or the deadline passes. */
  private async waitFor(what: string, check: () => Promise<boolean[]>): Promise<void> {
    const deadline = Date.now() + (this.o.readyTimeoutMs ?? 120_000);
    for (;;) {
      const gone = this.supervisor.exited();
      if (gone) throw new Error(`${gone.name} exited while waiting for ${what}; its log (${gone.log}) ends:\n${tail(gone.log)}`);
      if ((await check()).every(Boolean)) return;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; logs are in ${join(this.dir, 'logs')}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

const topologyEntry = (r: PlannedRegion) => ({ id: r.id, location: r.location, url: r.url, databaseUrl: r.databaseUrl, redisUrl: r.redisUrl, peers: r.peers });

/** A region's Redis: a Sentinel set (--ha), a Redis Cluster (--redis-cluster) or one redis-server. */
function redisProcesses(r: PlannedRegion, dir: string, env: NodeJS.ProcessEnv): ProcessSpec[] {
  if (r.ha) return sentinelProcesses(r.ha.redis, `${r.id}/`, env);
  if (r.redisCluster) return redisClusterProcesses(r.redisCluster, `${r.id}/`, env);
  mkdirSync(dir, { recursive: true });
  // A cache and queue for a local cluster: no persistence, loopback only.
  const args = ['--port', String(r.redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir];
  return [{ name: `${r.id}/redis`, command: 'redis-server', args, env }];
}

const redisPorts = (r: PlannedRegion): number[] =>
  r.ha ? [r.ha.redis.masterPort, ...r.ha.redis.sentinelPorts] : r.redisCluster ? r.redisCluster.nodes.map((n) => n.port) : [r.redisPort];

async function answers200(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}
