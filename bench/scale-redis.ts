/**
 * Redis for bench/scale.ts: a redis-server of its own on a free loopback
 * port (so that maxmemory and eviction apply to this run alone and INFO
 * memory counts only its keys), what its session entries weigh, and the
 * hit ratio when it has room for only a tenth of the sessions refreshed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import type { Child } from './child.js';
import { http, load, SECONDS } from './measure.js';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface OwnRedis {
  url: string;
  client: Redis;
  usedMemory(): Promise<number>;
  stop(): Promise<void>;
}

/** Starts redis-server without persistence; `args` adds settings (maxmemory, policy). */
export async function startRedis(args: string[] = []): Promise<OwnRedis> {
  const port = await freePort();
  const proc: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...args], {
    stdio: 'ignore',
  });
  const url = `redis://127.0.0.1:${port}`;
  const client = new Redis(url, { maxRetriesPerRequest: 20, retryStrategy: (n) => Math.min(n * 50, 500) });
  // The server may take a moment to listen: connection errors until then are retried, not thrown.
  client.on('error', () => {});
  await client.ping();
  return {
    url,
    client,
    async usedMemory() {
      const info = await client.info('memory');
      return Number(/^used_memory:(\d+)/m.exec(info)?.[1] ?? 0);
    },
    async stop() {
      client.disconnect();
      const exited = new Promise((resolve) => proc.once('exit', resolve));
      proc.kill('SIGTERM');
      await exited;
    },
  };
}

/** Every key matching `pattern`. */
export async function keysOf(client: Redis, pattern: string): Promise<string[]> {
  const out: string[] = [];
  for await (const keys of client.scanStream({ match: pattern, count: 1000 }) as AsyncIterable<string[]>) out.push(...keys);
  return out;
}

/** Mean MEMORY USAGE (bytes, with Redis's own per-key overhead) over up to `sample` keys. */
export async function meanUsage(client: Redis, keys: readonly string[], sample = 1000): Promise<number> {
  const picked = keys.slice(0, sample);
  let sum = 0;
  for (const k of picked) sum += Number((await client.memory('USAGE', k, 'SAMPLES', '0')) ?? 0);
  return picked.length ? sum / picked.length : 0;
}

/** Sums a counter of /metrics by one label. */
export async function counter(port: number, metric: string, by: string): Promise<Record<string, number>> {
  const text = (await http(port, 'GET', '/metrics')).text;
  const out: Record<string, number> = {};
  for (const m of text.matchAll(new RegExp(`^${metric}\\{([^}]*)\\} (\\d+)`, 'gm'))) {
    const label = new RegExp(`${by}="([^"]*)"`).exec(m[1]!)?.[1] ?? '';
    out[label] = (out[label] ?? 0) + Number(m[2]);
  }
  return out;
}
export const delta = (a: Record<string, number>, b: Record<string, number>) => Object.fromEntries(Object.keys(b).map((k) => [k, b[k]! - (a[k] ?? 0)]));

export interface FigureOptions {
  /** Starts the API server over the big region with this Redis and key prefix. */
  serve(redisUrl: string, prefix: string): Promise<{ port: number; child: Child }>;
  /** A file of `count` fresh refresh tokens of seeded sessions, picked at random. */
  tokens(count: number, tag: string): string;
  /** Hands a started Redis over, to be stopped at the end of the run. */
  own(redis: OwnRedis): void;
  /** Sessions cached to weigh an entry. */
  sample: number;
  population: number;
  prefix: string;
}

/** Redis bytes per cached session on a Redis of its own, then the hit ratio with room for 10% of a population. */
export async function redisFigures(o: FigureOptions) {
  const whole = await startRedis();
  o.own(whole);
  const prefix = `${o.prefix}-bytes`;
  const a = await o.serve(whole.url, prefix);
  const base = await whole.usedMemory();
  // Each sampled session refreshed once puts one entry in the cache.
  const sampled = await load({ port: a.port, mode: 'refresh-list', list: o.tokens(o.sample, 'bytes'), concurrency: 32, once: true, seconds: 3600 });
  const sessionKeys = await keysOf(whole.client, `${prefix}:session:*`);
  const perEntry = ((await whole.usedMemory()) - base) / sessionKeys.length;
  const usage = await meanUsage(whole.client, sessionKeys);
  await a.child.stop();

  const small = await startRedis(['--maxmemory-policy', 'allkeys-lru']);
  o.own(small);
  const b = await o.serve(small.url, `${o.prefix}-hits`);
  const floor = await small.usedMemory();
  let maxmemory = Math.round(floor + 0.1 * o.population * perEntry);
  await small.client.config('SET', 'maxmemory', String(maxmemory));
  const list = o.tokens(o.population, 'hits');
  // One load of two halves: the first fills the cache (every first touch misses), the second is the
  // steady state. One process, because a rotated token lives only in it: presenting the seeded one
  // again from a second load would be a reuse, and end the session.
  const run = load({ port: b.port, mode: 'refresh-list', list, concurrency: 32, seconds: 2 * SECONDS });
  // Entries are not all the size of the ones weighed above (a rotated family's hash grows), and
  // maxmemory counts more than keys: so once Redis evicts, maxmemory is moved by the entries
  // missing or over, every half second, until it holds a tenth of the population.
  const target = Math.round(0.1 * o.population);
  const sessions = async () => (await keysOf(small.client, `${o.prefix}-hits:session:*`)).length;
  const evictions = async () => Number(/^evicted_keys:(\d+)/m.exec(await small.client.info('stats'))?.[1] ?? 0);
  for (let t = 0; t < SECONDS * 2; t++) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    if ((await evictions()) === 0) continue;
    maxmemory = Math.max(floor, Math.round(maxmemory + (target - (await sessions())) * usage));
    await small.client.config('SET', 'maxmemory', String(maxmemory));
  }
  const before = await counter(b.port, 'meridian_cache_lookups_total', 'result');
  const steady = await run;
  const lookups = delta(before, await counter(b.port, 'meridian_cache_lookups_total', 'result'));
  const held = await sessions();
  const evicted = await evictions();
  await b.child.stop();
  const hits = lookups.hit ?? 0;
  const misses = lookups.miss ?? 0;
  return {
    cachedSessions: sessionKeys.length,
    bytesPerEntryUsedMemory: perEntry,
    bytesPerEntryMemoryUsage: usage,
    oneMillionHotMiB: (perEntry * 1e6) / 2 ** 20,
    sampleStatuses: sampled.statuses,
    hitPopulation: o.population,
    maxmemory,
    policy: 'allkeys-lru',
    refreshes: steady.requests,
    statuses: steady.statuses,
    lookups,
    hitRatio: hits / Math.max(1, hits + misses),
    heldAtEnd: held,
    evictedKeys: evicted,
  };
}
