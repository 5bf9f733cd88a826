/**
 * One Meridian region as the benchmark runs it: a fresh database on the
 * local PostgreSQL, bench/server.ts on it and, when Redis is used,
 * `meridian worker` beside it, each its own process, from this checkout or
 * from another build's tree (bench/baseline.ts). Its CPU groups name its own
 * processes and PostgreSQL backends, so two regions on one PostgreSQL are
 * measured apart.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import { type Child, start } from './child.js';
import type { Group } from './cpu.js';
import { APPLICATION_NAME } from './oidc-pg-adapter.js';
import { backendsOf, sharedProcesses } from './pg-backends.js';

export interface RegionOptions {
  /** The PostgreSQL server's URL (any database); the region's own is created on it. */
  pgUrl: string;
  redisUrl?: string;
  /** The build's tree; default this checkout. */
  root?: string;
  /** Settings over the benchmark's defaults. */
  env?: Record<string, string>;
}

export interface Region {
  port: number;
  workerPort?: number;
  database: string;
  databaseUrl: string;
  /** Meridian API, worker, PostgreSQL (its backends; the server's shared processes), Redis. */
  groups: Record<string, Group>;
  /** A client on the PostgreSQL server, for queries about the region's database. */
  admin: pg.Client;
  stop(): Promise<void>;
}

/** Removes a run's keys from Redis (cache entries live as long as the tokens: days). */
async function dropKeys(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url);
  try {
    for await (const keys of redis.scanStream({ match: `${prefix}:*`, count: 1000 }) as AsyncIterable<string[]>) if (keys.length) await redis.unlink(...keys);
  } finally {
    redis.disconnect();
  }
}

export async function startRegion(opts: RegionOptions): Promise<Region> {
  const tag = randomBytes(4).toString('hex');
  const database = `meridian_bench_${tag}`;
  const prefix = `bench-${tag}`;
  const admin = new pg.Client({ connectionString: opts.pgUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${database}`);
  const url = new URL(opts.pgUrl);
  url.pathname = `/${database}`;
  const children: Child[] = [];
  const stop = async () => {
    await Promise.all(children.map((c) => c.stop()));
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
    if (opts.redisUrl) await dropKeys(opts.redisUrl, prefix);
  };
  try {
    const env: Record<string, string> = {
      DATABASE_URL: url.toString(),
      LOG_LEVEL: 'info',
      MERIDIAN_MASTER_KEY: randomBytes(32).toString('base64url'),
      MERIDIAN_REGISTER_MAX_PER_IP: '1000000',
      MERIDIAN_LOGIN_MAX_FAILURES_PER_IP: '100000',
      MERIDIAN_DB_POOL_SIZE: '20',
      ...(opts.redisUrl ? { REDIS_URL: opts.redisUrl, MERIDIAN_REDIS_PREFIX: prefix } : {}),
      ...opts.env,
    };
    const server = start('bench/server.ts', [], env, 'pipe', opts.root);
    children.push(server);
    const port = ((await server.line()) as { port: number }).port;
    // The worker needs Redis for its queues; without it the run measures the API on its own.
    const worker = opts.redisUrl ? start('src/cli/main.ts', ['worker'], { ...env, MERIDIAN_WORKER_METRICS_PORT: '0' }, 'pipe', opts.root) : undefined;
    if (worker) children.push(worker);
    const workerPort = worker && ((await worker.line((l) => l.msg === 'worker started')) as { metricsPort: number }).metricsPort;
    const groups: Record<string, Group> = {
      'Meridian API': { pids: [server.pid] },
      ...(worker ? { worker: { pids: [worker.pid] } } : {}),
      'PostgreSQL backends': { find: backendsOf(admin, { database, notApplication: APPLICATION_NAME }) },
      'PostgreSQL shared': { find: sharedProcesses(admin) },
      ...(opts.redisUrl ? { Redis: { comm: 'redis-server' } } : {}),
    };
    return { port, workerPort, database, databaseUrl: url.toString(), groups, admin, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
