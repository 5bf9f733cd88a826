/**
 * Bytes of Meridian's token state on disk as rotations accumulate: creates S
 * sessions (logins spread over a few users, each login one argon2id hash),
 * rotates every session once, then drives rotations round-robin over the
 * sessions from many concurrent clients through /v1/auth/refresh, as clients
 * do, until R in all. pg_total_relation_size (table, indexes and TOAST) of
 * sessions, refresh_tokens, outbox and replication_queue, where they exist,
 * is sampled after the logins, after the first rotation of every session,
 * every tenth of the rest, and at the end. Only HTTP reaches the server, so
 * any build can be measured: with a commit as the argument, that commit's
 * tree (bench/baseline.ts) on its own fresh database.
 *
 *   node --import tsx bench/token-bytes.ts [commit]
 *   BENCH_BYTES_SESSIONS (10000), BENCH_BYTES_USERS (sessions / 100),
 *   BENCH_ROTATIONS (1000000), BENCH_BYTES_CLIENTS (64), BENCH_PG_URL, BENCH_REDIS_URL
 *
 * Prints one JSON line of results and writes bench/results/token-bytes-<build>.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import pg from 'pg';
import { baselineTree, thisBuild } from './baseline.js';
import { httpClient, JSON_TYPE } from './http-client.js';
import { startRegion } from './meridian.js';
import { PASSWORD } from './measure.js';

const SESSIONS = Number(process.env.BENCH_BYTES_SESSIONS ?? 10_000);
const USERS = Number(process.env.BENCH_BYTES_USERS ?? Math.max(1, Math.ceil(SESSIONS / 100)));
const ROTATIONS = Number(process.env.BENCH_ROTATIONS ?? 1_000_000);
const CLIENTS = Math.min(Number(process.env.BENCH_BYTES_CLIENTS ?? 64), SESSIONS);
// Logins are bound by hashing (a pool of one thread per core), not by clients.
const LOGIN_CLIENTS = 8;
const TABLES = ['sessions', 'refresh_tokens', 'outbox', 'replication_queue'];

const commit = process.argv[2];
const build = commit ?? thisBuild();
const region = await startRegion({
  pgUrl: process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
  redisUrl: process.env.BENCH_REDIS_URL,
  root: commit ? baselineTree(commit) : undefined,
});
const { request, close } = httpClient(region.port, CLIENTS);
// The sizes are read in the region's own database.
const db = new pg.Client({ connectionString: region.databaseUrl });
await db.connect();
const statuses: Record<number, number> = {};

/** Runs `n` jobs from `workers` concurrent loops. */
async function pool(n: number, workers: number, job: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: workers }, async () => {
      for (let i = next++; i < n; i = next++) await job(i);
    }),
  );
}

async function post(path: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await request('POST', path, JSON.stringify(body), JSON_TYPE);
  statuses[res.status] = (statuses[res.status] ?? 0) + 1;
  return res.status < 400 ? (JSON.parse(res.body) as Record<string, unknown>) : {};
}

interface Sample {
  at: string;
  rotations: number;
  seconds: number;
  bytes: Record<string, number>;
  total: number;
  allTables: number;
}
const samples: Sample[] = [];
const started = performance.now();
async function sample(at: string, rotations: number): Promise<void> {
  const { rows } = await db.query<{ name: string; bytes: string | null }>(
    `SELECT name, pg_total_relation_size(to_regclass(name)) AS bytes FROM unnest($1::text[]) AS name`,
    [TABLES],
  );
  const bytes: Record<string, number> = {};
  for (const row of rows) if (row.bytes !== null) bytes[row.name] = Number(row.bytes);
  const total = Object.values(bytes).reduce((a, b) => a + b, 0);
  // Every table of the schema too, so that state kept under another name does not go unseen.
  const all = await db.query<{ bytes: string | null }>(
    `SELECT sum(pg_total_relation_size(c.oid)) AS bytes FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = current_schema() AND c.relkind = 'r'`,
  );
  samples.push({ at, rotations, seconds: (performance.now() - started) / 1000, bytes, total, allTables: Number(all.rows[0]?.bytes ?? 0) });
  process.stderr.write(`${at}: ${rotations} rotations, ${total} bytes, ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
}

try {
  await pool(USERS, LOGIN_CLIENTS, async (u) => void (await post('/v1/auth/register', { username: `bytes-${u}`, password: PASSWORD })));
  const tokens: string[] = new Array(SESSIONS);
  await pool(SESSIONS, LOGIN_CLIENTS, async (i) => {
    tokens[i] = (await post('/v1/auth/login', { username: `bytes-${i % USERS}`, password: PASSWORD })).refresh_token as string;
  });
  await sample('logins', 0);
  const loginSeconds = samples[0]!.seconds;
  // Rotation k goes to session k mod S: with no more clients than sessions, no two are in flight on one session.
  const rotate = async (k: number) => {
    const s = k % SESSIONS;
    const next = (await post('/v1/auth/refresh', { refresh_token: tokens[s] })).refresh_token;
    if (typeof next === 'string') tokens[s] = next;
  };
  await pool(Math.min(SESSIONS, ROTATIONS), CLIENTS, rotate);
  await sample('first rotation of every session', Math.min(SESSIONS, ROTATIONS));
  const step = Math.max(SESSIONS, Math.ceil((ROTATIONS - SESSIONS) / 10));
  for (let done = SESSIONS; done < ROTATIONS; ) {
    const upTo = Math.min(ROTATIONS, done + step);
    await pool(upTo - done, CLIENTS, (k) => rotate(done + k));
    done = upTo;
    await sample(done === ROTATIONS ? 'end' : 'during', done);
  }
  const first = samples[1]!;
  const last = samples[samples.length - 1]!;
  const rotationSeconds = last.seconds - first.seconds;
  const result = {
    build,
    sessions: SESSIONS,
    users: USERS,
    rotations: ROTATIONS,
    clients: CLIENTS,
    worker: !!process.env.BENCH_REDIS_URL,
    statuses,
    loginSeconds,
    rotationsPerSecond: (last.rotations - samples[0]!.rotations) / (last.seconds - loginSeconds),
    seconds: last.seconds,
    bytesPerSessionAfterFirstRotation: first.total / SESSIONS,
    bytesPerSessionAtEnd: last.total / SESSIONS,
    // Growth after the first rotation of each session: bytes per further rotation (0 = flat).
    bytesPerRotationAfterFirst: last.rotations > first.rotations ? (last.total - first.total) / (last.rotations - first.rotations) : 0,
    rotationSecondsAfterFirst: rotationSeconds,
    allTablesPerSessionAfterFirstRotation: first.allTables / SESSIONS,
    allTablesPerSessionAtEnd: last.allTables / SESSIONS,
    tablesAfterFirstRotation: first.bytes,
    tablesAtEnd: last.bytes,
    samples,
  };
  mkdirSync('bench/results', { recursive: true });
  writeFileSync(`bench/results/token-bytes-${build}.json`, `${JSON.stringify(result, null, 2)}\n`);
  const { samples: _, ...summary } = result;
  process.stdout.write(`${JSON.stringify(summary)}\n`);
} finally {
  close();
  await db.end();
  await region.stop();
}
