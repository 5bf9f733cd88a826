/**
 * `npm run bench:scale`: one region's data spread over 4 PostgreSQL databases
 * (main + MERIDIAN_SHARDS s1..s3) at SCALE_USERS users and as many live
 * sessions (default 10,000,000), beside the same region at 10,000, both made
 * in this run (bench/scale-seed.ts explains the load). The real API server
 * (bench/server.ts) runs over each, with Redis, and is measured with the
 * closed-loop load of bench/load.ts over a hot set of seeded sessions and
 * users picked uniformly at random (so across every slot and shard). Ratios
 * within the run carry the result; the machine is shared.
 *
 * Measured: load time and PostgreSQL bytes per user and per session;
 * refresh and login p50/p99 and throughput at both sizes; statements per
 * shard during the refresh load (from meridian_db_shard_queries_total);
 * Redis bytes per cached session and the hit ratio when Redis (allkeys-lru)
 * holds only 10% of a uniformly refreshed population. Prints a table and
 * writes bench/results/scale.json. Databases are dropped at the end unless
 * SCALE_KEEP=1. SCALE_HOT (default 5,000) sizes the hot set, SCALE_HIT_POP
 * (default 20,000) the hit-ratio population, SCALE_CACHE_SAMPLE (default
 * 100,000) the cache entries weighed, BENCH_SECONDS each load.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { Algorithm, hash } from '@node-rs/argon2';
import pg from 'pg';
import { ARGON2_PARAMS } from '../src/auth/passwords.js';
import { mintRefreshToken } from '../src/auth/refresh-tokens.js';
import { deriveKey } from '../src/auth/secrets.js';
import { slotOfName } from '../src/util/slots.js';
import { type Child, start } from './child.js';
import { load, PASSWORD, SECONDS, type Load } from './measure.js';
import { idsOf, nameOf, type Seeded, seed, tableBytes } from './scale-seed.js';
import { counter, delta, type OwnRedis, redisFigures, startRedis } from './scale-redis.js';

const PG = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const N = Number(process.env.SCALE_USERS ?? 10_000_000);
const SMALL = 10_000;
const HOT = Number(process.env.SCALE_HOT ?? 5000);
const HIT_POP = Number(process.env.SCALE_HIT_POP ?? 20_000);
const SAMPLE = Number(process.env.SCALE_CACHE_SAMPLE ?? 100_000);
// Each load takes sessions no other has rotated (a rotated seed token presented again is reuse).
if (HOT + SAMPLE + HIT_POP > N) {
  throw new Error(`SCALE_HOT + SCALE_CACHE_SAMPLE + SCALE_HIT_POP (${HOT + SAMPLE + HIT_POP}) exceed SCALE_USERS (${N}): each needs sessions of its own`);
}
const SHARDS = 4;
const REGION = 'scale';
const MASTER_KEY = randomBytes(32);
const REFRESH_KEY = deriveKey(MASTER_KEY, 'refresh-rotation');
const RUN = randomBytes(3).toString('hex');
const OUT = 'bench/results';

interface Region {
  n: number;
  urls: string[];
  seeded: Seeded;
  loadSeconds: number;
  bytes: { users: number; sessions: number };
}

const created: string[] = [];
const children: Child[] = [];
const redises: OwnRedis[] = [];
const lists: string[] = [];

/** The server's environment over a region's shards and a Redis. */
function env(region: Region, redisUrl: string, prefix: string): Record<string, string> {
  return {
    DATABASE_URL: region.urls[0]!,
    MERIDIAN_SHARDS: region.urls
      .slice(1)
      .map((u, i) => `s${i + 1}=${u}`)
      .join(' '),
    MERIDIAN_REGION: REGION,
    MERIDIAN_MASTER_KEY: MASTER_KEY.toString('base64url'),
    REDIS_URL: redisUrl,
    MERIDIAN_REDIS_PREFIX: prefix,
    LOG_LEVEL: 'info',
    MERIDIAN_LOGIN_MAX_FAILURES_PER_IP: '100000',
    MERIDIAN_DB_POOL_SIZE: '20',
  };
}

async function startServer(e: Record<string, string>): Promise<{ port: number; child: Child }> {
  const child = start('bench/server.ts', [], e);
  children.push(child);
  return { port: ((await child.line()) as { port: number }).port, child };
}

/** Creates the 4 databases, migrates them by starting the service once, and loads n users and sessions. */
async function makeRegion(admin: pg.Client, n: number, redisUrl: string, passwordHash: string): Promise<Region> {
  const urls: string[] = [];
  for (let k = 0; k < SHARDS; k++) {
    const name = `meridian_scale_${RUN}_${n}_${k}`;
    await admin.query(`CREATE DATABASE ${name}`);
    created.push(name);
    const url = new URL(PG);
    url.pathname = `/${name}`;
    urls.push(url.toString());
  }
  const region = { n, urls } as Region;
  const first = await startServer(env(region, redisUrl, `scale-${RUN}-migrate-${n}`));
  await first.child.stop();
  const t0 = performance.now();
  region.seeded = await seed(urls, n, REGION, passwordHash);
  region.loadSeconds = (performance.now() - t0) / 1000;
  region.bytes = await tableBytes(urls);
  console.error(`loaded ${n.toLocaleString('en')} users in ${region.loadSeconds.toFixed(1)} s, per shard ${region.seeded.perShard.join(' ')}`);
  return region;
}

/** Users already given out: a seeded token presented after its session was rotated would be a reuse. */
const taken = new Map<number, Set<number>>();

/** `count` distinct users of 1..n not picked before, uniformly at random. */
function pickUsers(n: number, count: number): number[] {
  const used = taken.get(n) ?? new Set<number>();
  taken.set(n, used);
  const picked: number[] = [];
  const wanted = Math.min(count, n - used.size);
  while (picked.length < wanted) {
    const i = 1 + Math.floor(Math.random() * n);
    if (used.has(i)) continue;
    used.add(i);
    picked.push(i);
  }
  return picked;
}

/** Writes the refresh tokens (generation 0) or usernames of `users` to a file for bench/load.ts. */
function listFile(region: Region, users: number[], what: 'tokens' | 'names', tag: string): string {
  const items = users.map((i) => {
    const name = nameOf(i);
    if (what === 'names') return name;
    return mintRefreshToken({ sessionId: idsOf(region.seeded, i, slotOfName(name)).sessionId, generation: 0 }, REFRESH_KEY);
  });
  const file = `${OUT}/scale-${RUN}-${tag}.json`;
  lists.push(file);
  writeFileSync(file, JSON.stringify(items));
  return file;
}

interface Measured {
  refresh: Load;
  login: Load;
  shardStatements: Record<string, number>;
}

/** Refresh then login over the region's hot set. */
async function measure(region: Region, redisUrl: string): Promise<Measured> {
  const { port, child } = await startServer(env(region, redisUrl, `scale-${RUN}-${region.n}`));
  try {
    const hot = pickUsers(region.n, HOT);
    const before = await counter(port, 'meridian_db_shard_queries_total', 'shard');
    const refresh = await load({ port, mode: 'refresh-list', list: listFile(region, hot, 'tokens', `refresh-${region.n}`), concurrency: 32 });
    const shardStatements = delta(before, await counter(port, 'meridian_db_shard_queries_total', 'shard'));
    const login = await load({ port, mode: 'login-list', list: listFile(region, hot, 'names', `login-${region.n}`), password: PASSWORD, concurrency: 8 });
    return { refresh, login, shardStatements };
  } finally {
    await child.stop();
  }
}

const ms = (n: number) => n.toFixed(1);
function row(figure: string, value: string) {
  console.log(`| ${figure} | ${value} |`);
}

async function main() {
  mkdirSync(OUT, { recursive: true });
  const admin = new pg.Client({ connectionString: PG });
  await admin.connect();
  const redis = await startRedis();
  redises.push(redis);
  try {
    // One hash for every user: what a login verifies is the same work whichever row it reads.
    const passwordHash = await hash(PASSWORD, { ...ARGON2_PARAMS, algorithm: Algorithm.Argon2id });
    const big = await makeRegion(admin, N, redis.url, passwordHash);
    const small = await makeRegion(admin, SMALL, redis.url, passwordHash);
    const atBig = await measure(big, redis.url);
    const atSmall = await measure(small, redis.url);
    const cache = await redisFigures({
      serve: (url, prefix) => startServer(env(big, url, prefix)),
      tokens: (count, tag) => listFile(big, pickUsers(big.n, count), 'tokens', tag),
      own: (r) => redises.push(r),
      sample: SAMPLE,
      population: HIT_POP,
      prefix: `scale-${RUN}`,
    });

    const counts = Object.entries(atBig.shardStatements).sort(([x], [y]) => x.localeCompare(y));
    const mean = counts.reduce((s, [, c]) => s + c, 0) / Math.max(1, counts.length);
    const shards = counts.map(([name, c]) => ({ name, statements: c, deviation: c / mean - 1 }));
    const p99Ratio = atBig.refresh.p99 / atSmall.refresh.p99;
    const loginRatio = atBig.login.p99 / atSmall.login.p99;
    const machine = `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}`;
    const nb = N.toLocaleString('en');

    console.log(`\nScale: ${nb} users over ${SHARDS} shards (${machine}; ${SECONDS} s per load, hot set ${HOT.toLocaleString('en')})\n`);
    console.log('| figure | value |\n|---|---|');
    row(`load ${nb} users + ${nb} sessions (s)`, big.loadSeconds.toFixed(1));
    row('PostgreSQL bytes per user / per session (tables + indexes)', `${Math.round(big.bytes.users / N)} / ${Math.round(big.bytes.sessions / N)}`);
    for (const [label, m] of [
      [nb, atBig],
      ['10,000', atSmall],
    ] as const) {
      row(`refresh at ${label}: req/s, p50 / p99 ms`, `${Math.round(m.refresh.rps)}, ${ms(m.refresh.p50)} / ${ms(m.refresh.p99)}`);
      row(`login at ${label}: req/s, p50 / p99 ms`, `${Math.round(m.login.rps)}, ${ms(m.login.p50)} / ${ms(m.login.p99)}`);
    }
    row(`refresh p99 ${nb} / 10,000 (target <= 1.3x)`, `${p99Ratio.toFixed(2)}x ${p99Ratio <= 1.3 ? 'met' : 'NOT met'}`);
    row(`login p99 ${nb} / 10,000`, `${loginRatio.toFixed(2)}x`);
    for (const s of shards) row(`statements on shard ${s.name} during refresh at ${nb}`, `${s.statements} (${(s.deviation * 100).toFixed(1)}% from mean)`);
    const within = shards.every((s) => Math.abs(s.deviation) <= 0.1);
    row('every shard within 10% of the mean', within ? 'yes' : 'NO');
    row(
      `Redis bytes per cached session (used_memory delta over ${cache.cachedSessions} entries; MEMORY USAGE)`,
      `${Math.round(cache.bytesPerEntryUsedMemory)}; ${Math.round(cache.bytesPerEntryMemoryUsage)}`,
    );
    row(`Redis for 1M hot sessions (MiB, linear from ${cache.cachedSessions.toLocaleString('en')} entries)`, cache.oneMillionHotMiB.toFixed(0));
    row(
      `hit ratio, Redis (${cache.policy}, maxmemory ${cache.maxmemory} B) holding 10% of ${HIT_POP.toLocaleString('en')} refreshed uniformly`,
      `${(cache.hitRatio * 100).toFixed(1)}% (${JSON.stringify(cache.lookups)}; ${cache.heldAtEnd} entries held at the end, ${cache.evictedKeys} evicted)`,
    );
    writeFileSync(
      `${OUT}/scale.json`,
      `${JSON.stringify(
        {
          at: new Date().toISOString(),
          machine,
          seconds: SECONDS,
          users: N,
          shards: SHARDS,
          sample: SAMPLE,
          load: { seconds: big.loadSeconds, perShard: big.seeded.perShard, bytes: big.bytes, smallSeconds: small.loadSeconds },
          big: atBig,
          small: atSmall,
          refreshP99Ratio: p99Ratio,
          loginP99Ratio: loginRatio,
          shardStatements: shards,
          cache,
        },
        null,
        2,
      )}\n`,
    );
  } finally {
    await Promise.all(children.map((c) => c.stop()));
    await Promise.all(redises.map((r) => r.stop()));
    // The lists hold live refresh tokens of the run's sessions.
    for (const f of lists) rmSync(f, { force: true });
    if (process.env.SCALE_KEEP !== '1') for (const d of created) await admin.query(`DROP DATABASE IF EXISTS ${d} WITH (FORCE)`);
    else console.error(`kept databases: ${created.join(' ')}`);
    await admin.end();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
