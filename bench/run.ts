/**
 * `npm run bench`: starts what it needs on loopback (a PostgreSQL database,
 * Meridian, the node-oidc-provider peer), runs bounded loads from separate
 * processes, and prints each figure as a ratio to a baseline measured in the
 * same run, with the absolute numbers beside it. Results also go to
 * bench/results/latest.json. Needs PostgreSQL (BENCH_PG_URL, default the
 * local server); uses Redis when BENCH_REDIS_URL is set.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import pg from 'pg';

const PG = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS = process.env.BENCH_REDIS_URL;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 6);
const PASSWORD = 'correct horse battery staple';
const children: ChildProcess[] = [];

/** Runs a TypeScript file in a child process; resolves with its first stdout line parsed as JSON. */
function run<T>(file: string, args: string[] = [], env: Record<string, string> = {}, keep = false): Promise<{ out: T; child: ChildProcess }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', file, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    if (keep) children.push(child);
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl >= 0) resolve({ out: JSON.parse(buf.slice(0, nl)) as T, child });
    });
    child.on('exit', (code) => code && reject(new Error(`${file} exited with ${code}`)));
  });
}

interface Load {
  requests: number;
  ok: number;
  rps: number;
  p50: number;
  p99: number;
  statuses: Record<string, number>;
}
const load = async (opts: Record<string, unknown>) => (await run<Load>('bench/load.ts', [JSON.stringify({ seconds: SECONDS, ...opts })])).out;

async function http(port: number, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: body ? { 'content-type': 'application/json', ...headers } : headers,
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, text: await res.text() };
}

async function dbStatements(port: number): Promise<Record<string, number>> {
  const text = (await http(port, 'GET', '/metrics')).text;
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^meridian_db_queries_total\{[^}]*statement="(\w+)"[^}]*\} (\d+)/gm)) out[m[1]!] = (out[m[1]!] ?? 0) + Number(m[2]);
  return out;
}

type Row = { figure: string; value: string; baseline: string; ratio: number; target: string; pass: boolean };
const rows: Row[] = [];
const fmt = (n: number, unit = '') => `${n >= 100 ? Math.round(n).toLocaleString('en') : n.toFixed(2)}${unit}`;
function record(figure: string, value: number, baseline: number, unit: string, target: number, extra = true) {
  const ratio = value / baseline;
  rows.push({ figure, value: fmt(value, unit), baseline: fmt(baseline, unit), ratio, target: `>= ${target}x`, pass: ratio >= target && extra });
}

async function main() {
  // 1. Verification, in its own process.
  const v = (await run<{ raw: number; firstSeen: number; repeated: number }>('bench/verify.ts')).out;
  record('verify, first-seen token (ops/s)', v.firstSeen, v.raw, '', 0.95);
  record('verify, repeated token (ops/s)', v.repeated, v.raw, '', 10);

  // A fresh database, Meridian on it, the oidc-provider peer.
  const dbName = `meridian_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  const dbUrl = new URL(PG);
  dbUrl.pathname = `/${dbName}`;
  try {
    const env: Record<string, string> = {
      DATABASE_URL: dbUrl.toString(),
      LOG_LEVEL: 'warn',
      MERIDIAN_MASTER_KEY: randomBytes(32).toString('base64url'),
      MERIDIAN_REGISTER_MAX_PER_IP: '1000000',
      MERIDIAN_LOGIN_MAX_FAILURES_PER_IP: '100000',
      MERIDIAN_DB_POOL_SIZE: '20',
      ...(REDIS ? { REDIS_URL: REDIS } : {}),
    };
    const meridian = (await run<{ port: number }>('bench/server.ts', [], env, true)).out.port;
    const oidc = (await run<{ port: number }>('bench/oidc-peer.ts', [], {}, true)).out.port;

    await http(meridian, 'POST', '/v1/auth/register', { username: 'bench', password: PASSWORD });
    const tokens = JSON.parse((await http(meridian, 'POST', '/v1/auth/login', { username: 'bench', password: PASSWORD })).text);

    // 2. Protected route against a bare route on the same server.
    const bare = await load({ port: meridian, mode: 'get', path: '/bench/bare', concurrency: 32 });
    const me = await load({ port: meridian, mode: 'get', path: '/v1/auth/me', bearer: tokens.access_token, concurrency: 32 });
    record('GET /v1/auth/me (req/s)', me.rps, bare.rps, '', 0.6);

    // 3. Refresh at 64 concurrent clients against node-oidc-provider's refresh grant.
    const peer = await load({ port: oidc, mode: 'refresh-oidc', concurrency: 64 });
    const ours = await load({ port: meridian, mode: 'refresh-meridian', username: 'refresher', password: PASSWORD, concurrency: 64 });
    record(`refresh (req/s), p99 ${fmt(ours.p99, ' ms')} vs ${fmt(peer.p99, ' ms')}`, ours.rps, peer.rps, '', 1.5, ours.p99 <= 20);

    // 5. DB statements per refresh, counted from the server's own metrics.
    const before = await dbStatements(meridian);
    let token = tokens.refresh_token as string;
    const N = 200;
    for (let i = 0; i < N; i++) token = JSON.parse((await http(meridian, 'POST', '/v1/auth/refresh', { refresh_token: token })).text).refresh_token;
    const after = await dbStatements(meridian);
    const per = (kind: string) => ((after[kind] ?? 0) - (before[kind] ?? 0)) / N;
    const reads = per('select');
    const writes = per('insert') + per('update') + per('delete');
    rows.push({ figure: `DB statements per refresh (reads; writes ${writes.toFixed(2)})`, value: reads.toFixed(2), baseline: '0', ratio: NaN, target: '0 reads', pass: reads === 0 });

    // 4. Login storm against raw argon2 hashing; event-loop lag and verification latency meanwhile.
    const rawHash = (await run<{ rps: number }>('bench/argon2.ts', ['8', String(SECONDS)])).out;
    // The probe is paced (100 verifications/s), so it measures latency without competing for the CPU.
    const probeOpts = { port: meridian, mode: 'get', path: '/v1/auth/me', bearer: tokens.access_token, concurrency: 1, rate: 100 };
    const idle = await load(probeOpts);
    await http(meridian, 'GET', '/bench/lag');
    const [storm, probe] = await Promise.all([
      load({ port: meridian, mode: 'login', username: 'bench', password: PASSWORD, concurrency: 8 }),
      load(probeOpts),
    ]);
    const lag = JSON.parse((await http(meridian, 'GET', '/bench/lag')).text) as { p99: number };
    record(`login (req/s), event-loop lag p99 ${fmt(lag.p99, ' ms')}`, storm.rps, rawHash.rps, '', 0.9, lag.p99 <= 10);
    rows.push({
      figure: 'verify p99 during login storm vs idle (ms)',
      value: fmt(probe.p99),
      baseline: fmt(idle.p99),
      ratio: probe.p99 / idle.p99,
      target: '<= 2x',
      pass: probe.p99 / idle.p99 <= 2,
    });
  } finally {
    for (const c of children) c.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin.end();
  }

  const machine = `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}`;
  console.log(`\nMeridian benchmarks (${machine}; ${SECONDS} s per load${REDIS ? ', Redis' : ''})\n`);
  console.log('| figure | Meridian | baseline | ratio | target | met |\n|---|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.figure} | ${r.value} | ${r.baseline} | ${Number.isNaN(r.ratio) ? '-' : r.ratio.toFixed(2) + 'x'} | ${r.target} | ${r.pass ? 'yes' : 'NO'} |`);
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/latest.json', JSON.stringify({ at: new Date().toISOString(), machine, seconds: SECONDS, redis: !!REDIS, rows }, null, 2));
}

main().catch((err) => {
  for (const c of children) c.kill('SIGTERM');
  console.error(err);
  process.exit(1);
});
