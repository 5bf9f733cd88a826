/**
 * Figure 7: write-behind rotation beside the default, in one run. Two
 * Meridian regions, each an API server and a `meridian worker` on its own
 * database and the same Redis (its own key prefix): one with
 * MERIDIAN_REFRESH_WRITES=sync, one with write-behind; and node-oidc-provider
 * on its in-memory adapter (no I/O at all) as the baseline. Each takes the
 * same closed-loop refresh load (64 clients, each rotating its own token).
 * Reported: req/s and p99 of each, PostgreSQL statements per refresh
 * (counted from the API's and the worker's own metrics over the load) and
 * the flush lag p99 (the worker's histogram). Writes bench/results/write-behind.json.
 *
 *   node --import tsx bench/write-behind.ts [seconds]
 *
 * Needs PostgreSQL (BENCH_PG_URL) and Redis (BENCH_REDIS_URL, default the local one).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import pg from 'pg';
import { type Child, start } from './child.js';

const PG = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const SECONDS = Number(process.argv[2] ?? process.env.BENCH_SECONDS ?? 6);
const PASSWORD = 'correct horse battery staple';
const CLIENTS = 64;

interface Load {
  requests: number;
  rps: number;
  p99: number;
  statuses: Record<string, number>;
}

const children: Child[] = [];
const keep = (c: Child) => {
  children.push(c);
  return c;
};

async function metricsText(port: number): Promise<string> {
  return (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
}

/** Every statement a process ran so far, from its meridian_db_queries_total. */
const statements = (text: string) => [...text.matchAll(/^meridian_db_queries_total\{[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);

/** The p99 of a histogram from its cumulative buckets (the upper bound of the bucket it falls in), seconds. */
function histogramP99(text: string, name: string): number {
  const buckets = [...text.matchAll(new RegExp(`^${name}_bucket\\{[^}]*le="([^"]+)"[^}]*\\} (\\d+)`, 'gm'))].map((m) => ({
    le: Number(m[1]),
    n: Number(m[2]),
  }));
  const total = buckets.at(-1)?.n ?? 0;
  return buckets.find((b) => b.n >= 0.99 * total)?.le ?? Number.NaN;
}

async function region(mode: 'sync' | 'write-behind', admin: pg.Client) {
  const db = `meridian_bench_wb_${randomBytes(4).toString('hex')}`;
  await admin.query(`CREATE DATABASE ${db}`);
  const url = new URL(PG);
  url.pathname = `/${db}`;
  const prefix = `bench-wb-${randomBytes(4).toString('hex')}`;
  const env = {
    DATABASE_URL: url.toString(),
    REDIS_URL: REDIS,
    MERIDIAN_REDIS_PREFIX: prefix,
    MERIDIAN_REFRESH_WRITES: mode,
    MERIDIAN_MASTER_KEY: randomBytes(32).toString('base64url'),
    MERIDIAN_REGISTER_MAX_PER_IP: '1000000',
    MERIDIAN_DB_POOL_SIZE: '20',
    LOG_LEVEL: 'info',
  };
  const api = keep(start('bench/server.ts', [], env));
  const port = ((await api.line()) as { port: number }).port;
  const worker = keep(start('src/cli/main.ts', ['worker'], { ...env, MERIDIAN_WORKER_METRICS_PORT: '0' }));
  const workerPort = ((await worker.line((l) => l.msg === 'worker started')) as { metricsPort: number }).metricsPort;
  return { mode, db, prefix, port, workerPort };
}

/** A load from its own process; `ready` runs once its setup (registrations, logins) is done, before it measures. */
async function load(opts: Record<string, unknown>, ready: () => Promise<void> = async () => {}): Promise<Load> {
  const child = start('bench/load.ts', [JSON.stringify({ seconds: SECONDS, concurrency: CLIENTS, ...opts })]);
  await child.line((l) => l.ready === true);
  await ready();
  const result = (await child.line()) as unknown as Load;
  await child.exited;
  return result;
}

async function main() {
  const admin = new pg.Client({ connectionString: PG });
  await admin.connect();
  const regions: Awaited<ReturnType<typeof region>>[] = [];
  const results: Record<string, unknown> = {};
  try {
    const peer = keep(start('bench/oidc-peer.ts'));
    const oidc = ((await peer.line()) as { port: number }).port;
    for (const mode of ['sync', 'write-behind'] as const) regions.push(await region(mode, admin));
    results.oidcInMemory = await load({ port: oidc, mode: 'refresh-oidc' });
    for (const r of regions) {
      const counted = async () => statements(await metricsText(r.port)) + statements(await metricsText(r.workerPort));
      let before = 0;
      const res = await load({ port: r.port, mode: 'refresh-meridian', username: `wb-${r.mode}`, password: PASSWORD }, async () => {
        before = await counted();
      });
      // The last rotations' flush is part of what the refreshes cost.
      await new Promise((ok) => setTimeout(ok, 500));
      const workerMetrics = await metricsText(r.workerPort);
      const after = statements(await metricsText(r.port)) + statements(workerMetrics);
      results[r.mode] = {
        ...res,
        statementsPerRefresh: (after - before) / res.requests,
        flushLagP99Ms: r.mode === 'write-behind' ? histogramP99(workerMetrics, 'meridian_rotation_flush_lag_seconds') * 1000 : undefined,
      };
    }
  } finally {
    await Promise.all(children.map((c) => c.stop()));
    const redis = new Redis(REDIS);
    for (const r of regions) {
      await admin.query(`DROP DATABASE IF EXISTS ${r.db} WITH (FORCE)`);
      for await (const keys of redis.scanStream({ match: `${r.prefix}:*`, count: 1000 }) as AsyncIterable<string[]>)
        if (keys.length) await redis.unlink(...keys);
    }
    redis.disconnect();
    await admin.end();
  }
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/write-behind.json', JSON.stringify({ at: new Date().toISOString(), seconds: SECONDS, clients: CLIENTS, results }, null, 2));
  console.log(JSON.stringify(results, null, 2));
}

main().catch(async (err) => {
  await Promise.all(children.map((c) => c.stop()));
  console.error(err);
  process.exit(1);
});
