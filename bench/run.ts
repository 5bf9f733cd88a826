/**
 * `npm run bench`: starts what it needs on loopback (a PostgreSQL database,
 * Meridian with its worker, the node-oidc-provider peers in memory and on
 * PostgreSQL, the baseline build on its own database, three regions for
 * replication), runs bounded loads from separate processes, and prints each
 * figure as a ratio to a baseline measured in the same run, with the absolute
 * numbers beside it, and what each request cost every process in CPU time.
 * Results also go to bench/results/latest.json. Needs PostgreSQL
 * (BENCH_PG_URL, default the local server); uses Redis when BENCH_REDIS_URL
 * is set, as a region runs. BENCH_BASELINE_COMMIT names the build to compare
 * with (default bf63034; empty for none); BENCH_BYTES=1 adds token bytes on
 * disk (bench/token-bytes.ts), which takes long.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { type Child, start } from './child.js';
import { replicationBytes, tokenBytes } from './bytes-figures.js';
import { startRegion } from './meridian.js';
import { fmt, http, load, PASSWORD, record, rows, SECONDS } from './measure.js';
import { refreshFigures } from './refresh-figures.js';

const PG = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS = process.env.BENCH_REDIS_URL;

/** Statements by kind (select, insert, ...) from a process's own /metrics. */
async function dbStatements(port: number): Promise<Record<string, number>> {
  const text = (await http(port, 'GET', '/metrics')).text;
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^meridian_db_queries_total\{[^}]*statement="(\w+)"[^}]*\} (\d+)/gm)) out[m[1]!] = (out[m[1]!] ?? 0) + Number(m[2]);
  return out;
}

const costs = (us: Record<string, number>) =>
  Object.entries(us)
    .map(([k, v]) => `${k} ${Math.round(v)}`)
    .join(', ');

const children: Child[] = [];
const keep = (c: Child) => {
  children.push(c);
  return c;
};

async function main() {
  // 1. Verification, in its own process.
  const v = (await start('bench/verify.ts').line()) as { raw: number; firstSeen: number; repeated: number; firstSeenRatio: number; repeatedRatio: number };
  record('verify, first-seen token (ops/s)', v.firstSeen, v.raw, 0.95, true, v.firstSeenRatio);
  record('verify, repeated token (ops/s)', v.repeated, v.raw, 10, true, v.repeatedRatio);

  // Meridian on a fresh database with its worker (as a region runs); the oidc-provider peers.
  const region = await startRegion({ pgUrl: PG, redisUrl: REDIS });
  const meridian = region.port;
  const workerPort = region.workerPort;
  const cpuUse: Record<string, Record<string, number>> = {};
  try {
    const peer = keep(start('bench/oidc-peer.ts'));
    const oidc = ((await peer.line()) as { port: number }).port;
    const durablePeer = keep(start('bench/oidc-peer.ts', [region.databaseUrl, '20']));
    const oidcPg = ((await durablePeer.line()) as { port: number }).port;

    await http(meridian, 'POST', '/v1/auth/register', { username: 'bench', password: PASSWORD });
    const tokens = JSON.parse((await http(meridian, 'POST', '/v1/auth/login', { username: 'bench', password: PASSWORD })).text);

    // 2. Protected route against a bare route on the same server.
    const bare = await load({ port: meridian, mode: 'get', path: '/bench/bare', concurrency: 32 });
    const me = await load({ port: meridian, mode: 'get', path: '/v1/auth/me', bearer: tokens.access_token, concurrency: 32 });
    record('GET /v1/auth/me (req/s)', me.rps, bare.rps, 0.6);

    // 3. Refresh at 64 concurrent clients against node-oidc-provider's refresh grant, durable and in memory,
    // and against the baseline build on its own database.
    const peers = { memory: { port: oidc, pid: peer.pid }, durable: { port: oidcPg, pid: durablePeer.pid } };
    Object.assign(cpuUse, await refreshFigures(region, peers, { pgUrl: PG, redisUrl: REDIS }));

    // 5. DB statements per refresh, counted from the server's and the worker's own metrics.
    const counted = () => Promise.all([dbStatements(meridian), workerPort ? dbStatements(workerPort) : {}]);
    const [apiBefore, workerBefore] = await counted();
    let token = tokens.refresh_token as string;
    const N = 200;
    for (let i = 0; i < N; i++) token = JSON.parse((await http(meridian, 'POST', '/v1/auth/refresh', { refresh_token: token })).text).refresh_token;
    const [apiAfter, workerAfter] = await counted();
    const per = (a: Record<string, number>, b: Record<string, number>, kinds: string[]) => kinds.reduce((n, k) => n + (b[k] ?? 0) - (a[k] ?? 0), 0) / N;
    const reads = per(apiBefore, apiAfter, ['select']);
    const writes = per(apiBefore, apiAfter, ['insert', 'update', 'delete']);
    const workerAll = per(workerBefore, workerAfter, ['select', 'insert', 'update', 'delete']);
    rows.push({
      figure: `DB statements per refresh on a cache hit (API reads; API writes ${writes.toFixed(2)}, worker ${workerAll.toFixed(2)})`,
      value: reads.toFixed(2),
      baseline: '0',
      ratio: NaN,
      target: '0 reads',
      pass: reads === 0,
    });

    // 4. Login storm against raw argon2 hashing; event-loop lag and verification latency meanwhile.
    const rawHash = (await start('bench/argon2.ts', ['8', String(SECONDS)]).line()) as { rps: number };
    // The probe is paced (100 verifications/s), so it measures latency without competing for the CPU.
    const probeOpts = { port: meridian, mode: 'get', path: '/v1/auth/me', bearer: tokens.access_token, concurrency: 1, rate: 100 };
    const idle = await load(probeOpts);
    await http(meridian, 'GET', '/bench/lag');
    const [storm, probe] = await Promise.all([
      load({ port: meridian, mode: 'login', username: 'bench', password: PASSWORD, concurrency: 8 }, region.groups),
      load(probeOpts),
    ]);
    const lag = JSON.parse((await http(meridian, 'GET', '/bench/lag')).text) as { p99: number };
    record(`login (req/s), event-loop lag p99 ${fmt(lag.p99, ' ms')}`, storm.rps, rawHash.rps, 0.9, lag.p99 <= 10);
    cpuUse.login = storm.cpuUs!;
    rows.push({
      figure: 'verify p99 during login storm vs idle (ms)',
      value: fmt(probe.p99),
      baseline: fmt(idle.p99),
      ratio: probe.p99 / idle.p99,
      target: '<= 2x',
      pass: probe.p99 / idle.p99 <= 2,
    });
  } finally {
    await Promise.all(children.map((c) => c.stop()));
    await region.stop();
  }
  if (process.env.BENCH_BYTES === '1') await tokenBytes();

  // 6. Replication between three regions (its own databases and Redis servers), once the rest has stopped.
  await start('bench/replication.ts', [], {}, 'inherit').exited;
  const repl = JSON.parse(readFileSync('bench/results/replication.json', 'utf8')) as {
    refreshesPerSecond: number;
    lost: number;
    results: { p50: number; p99: number }[];
  };
  const [lagMs, reachMs] = repl.results as [{ p50: number; p99: number }, { p50: number; p99: number }];
  rows.push({
    figure: `replication lag a -> b at ${repl.refreshesPerSecond.toFixed(0)} refreshes/s (ms, p50 / p99)`,
    value: `${lagMs.p50} / ${lagMs.p99}`,
    baseline: '-',
    ratio: NaN,
    target: `none lost`,
    pass: repl.lost === 0,
  });
  rows.push({
    figure: 'logout at b refused by the verifiers of a and c (ms, p50 / p99)',
    value: `${reachMs.p50} / ${reachMs.p99}`,
    baseline: '-',
    ratio: NaN,
    target: 'p99 <= 1,000',
    pass: reachMs.p99 <= 1000,
  });

  await replicationBytes();

  // 7. Write-behind rotation beside the default and node-oidc-provider in memory (needs Redis).
  if (REDIS) {
    await start('bench/write-behind.ts', [String(SECONDS)], { BENCH_REDIS_URL: REDIS }, 'inherit').exited;
    type Refreshes = { rps: number; p99: number; statementsPerRefresh?: number; flushLagP99Ms?: number };
    const wb = (JSON.parse(readFileSync('bench/results/write-behind.json', 'utf8')) as { results: Record<string, Refreshes> }).results;
    const [behind, sync, oidc] = [wb['write-behind']!, wb.sync!, wb.oidcInMemory!];
    rows.push({
      figure: `write-behind refresh at 64 clients vs node-oidc-provider in memory (req/s), p99 ${fmt(behind.p99, ' ms')} vs ${fmt(oidc.p99, ' ms')}; sync ${fmt(sync.rps)}`,
      value: fmt(behind.rps),
      baseline: fmt(oidc.rps),
      ratio: behind.rps / oidc.rps,
      target: '>= 1.0x',
      pass: behind.rps >= oidc.rps,
    });
    rows.push({
      figure: `write-behind: PostgreSQL statements per refresh (API and worker; sync ${sync.statementsPerRefresh!.toFixed(2)})`,
      value: behind.statementsPerRefresh!.toFixed(3),
      baseline: '-',
      ratio: NaN,
      target: '<= 0.05',
      pass: behind.statementsPerRefresh! <= 0.05,
    });
    rows.push({
      figure: 'write-behind: flush lag p99 (ms, upper bound of its histogram bucket)',
      value: String(behind.flushLagP99Ms),
      baseline: '-',
      ratio: NaN,
      target: '<= 250',
      pass: behind.flushLagP99Ms! <= 250,
    });
  }

  const machine = `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}`;
  console.log(`\nMeridian benchmarks (${machine}; ${SECONDS} s per load${REDIS ? ', Redis' : ''})\n`);
  console.log('| figure | Meridian | baseline | ratio | target | met |\n|---|---|---|---|---|---|');
  for (const r of rows)
    console.log(
      `| ${r.figure} | ${r.value} | ${r.baseline} | ${Number.isNaN(r.ratio) ? '-' : `${r.ratio.toFixed(2)}x`} | ${r.target} | ${r.pass === undefined ? '-' : r.pass ? 'yes' : 'NO'} |`,
    );
  if (Object.keys(cpuUse).length) {
    console.log('\nCPU time per request (us), by process:\n');
    for (const [name, us] of Object.entries(cpuUse)) console.log(`- ${name}: ${costs(us)}`);
  }
  mkdirSync('bench/results', { recursive: true });
  writeFileSync(
    'bench/results/latest.json',
    // Ends in a newline, as the formatter wants every JSON file under bench/ (results included) to.
    `${JSON.stringify({ at: new Date().toISOString(), machine, seconds: SECONDS, redis: !!REDIS, rows, cpuUsPerRequest: cpuUse }, null, 2)}\n`,
  );
}

main().catch(async (err) => {
  await Promise.all(children.map((c) => c.stop()));
  console.error(err);
  process.exit(1);
});
