/**
 * Replication between regions on this machine: three regions in one process
 * (each its own PostgreSQL database and worker tier, linked over loopback
 * through TCP proxies, as in test/replication.test.ts).
 *
 * 1. Replication lag at a steady refresh rate: refreshes at region a, and for
 *    each the wall-clock time until its new token is in region b's database
 *    (b's database is polled every 5 ms, so that is the resolution).
 * 2. Logout reach: a logout at b, and the time until region a and region c
 *    both refuse the session's access token on /v1/auth/me (polled every 2 ms).
 *
 * Prints a table and writes bench/results/replication.json. Not part of npm test.
 *
 *   node --import tsx bench/replication.ts [refreshes per second] [seconds] [logouts]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { bearer, json, login, post, type Tokens } from '../test/helpers.js';
import { startThreeRegions } from './three-regions.js';

const RATE = Number(process.argv[2] ?? 20);
const SECONDS = Number(process.argv[3] ?? 10);
const LOGOUTS = Number(process.argv[4] ?? 20);
const FAMILIES = 10;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? NaN;
};

const set = await startThreeRegions();
try {
  const [a, b, c] = ['a', 'b', 'c'].map((id) => set.nodes[id]!.t);
  const families: Tokens[] = [];
  for (let i = 0; i < FAMILIES; i++) families.push(await login(a!.app, `bench-repl-${i}`));
  await sleep(1000);

  // 1. Lag at a steady rate.
  const pending = new Map<string, number>();
  const lags: number[] = [];
  let polling = true;
  const poller = (async () => {
    while (polling || pending.size > 0) {
      if (pending.size > 0) {
        // A refresh token is `<session>.<generation>.<mac>`: it has reached b once b's session is at its generation.
        const { rows } = await b!.db.query<{ id: string; generation: number }>('SELECT id, generation FROM sessions WHERE id = ANY ($1::text[])', [
          [...new Set([...pending.keys()].map((k) => k.split('.')[0]!))],
        ]);
        const now = Date.now();
        for (const r of rows) {
          for (const [key, at] of pending) {
            const [sid, gen] = key.split('.');
            if (sid !== r.id || Number(gen) > r.generation) continue;
            lags.push(now - at);
            pending.delete(key);
          }
        }
      }
      await sleep(5);
    }
  })();
  const total = RATE * SECONDS;
  const started = Date.now();
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / RATE;
    if (due > Date.now()) await sleep(due - Date.now());
    const f = i % FAMILIES;
    const res = await post(a!.app, '/v1/auth/refresh', { refresh_token: families[f]!.refresh_token });
    if (res.statusCode !== 200) throw new Error(`refresh failed: ${res.body}`);
    families[f] = json<Tokens>(res);
    pending.set(families[f]!.refresh_token.split('.').slice(0, 2).join('.'), Date.now());
  }
  const achieved = total / ((Date.now() - started) / 1000);
  const deadline = Date.now() + 30_000;
  while (pending.size > 0 && Date.now() < deadline) await sleep(20);
  polling = false;
  await poller;

  // 2. Logout reach.
  const reach: number[] = [];
  for (let i = 0; i < LOGOUTS; i++) {
    const tokens = await login(a!.app, `bench-logout-${i}`);
    await sleep(300);
    const t0 = Date.now();
    const res = await post(b!.app, '/v1/auth/logout', undefined, bearer(tokens.access_token));
    if (res.statusCode !== 204) throw new Error(`logout failed: ${res.body}`);
    const refusedAt = async (t: typeof a) => {
      while ((await t!.app.inject({ url: '/v1/auth/me', headers: bearer(tokens.access_token) })).statusCode !== 401) await sleep(2);
      return Date.now();
    };
    const [ra, rc] = await Promise.all([refusedAt(a), refusedAt(c)]);
    reach.push(Math.max(ra, rc) - t0);
  }

  const rows = [
    { measure: 'replication lag a -> b (ms)', n: lags.length, p50: percentile(lags, 50), p99: percentile(lags, 99), max: Math.max(...lags) },
    { measure: 'logout at b refused at a and c (ms)', n: reach.length, p50: percentile(reach, 50), p99: percentile(reach, 99), max: Math.max(...reach) },
  ];
  console.log(
    `3 regions in one process, PostgreSQL on loopback; ${achieved.toFixed(1)} refreshes/s at a for ${SECONDS} s over ${FAMILIES} families; ${LOGOUTS} logouts`,
  );
  console.log(`${'measure'.padEnd(40)} ${'n'.padStart(5)} ${'p50'.padStart(7)} ${'p99'.padStart(7)} ${'max'.padStart(7)}`);
  for (const r of rows)
    console.log(`${r.measure.padEnd(40)} ${String(r.n).padStart(5)} ${String(r.p50).padStart(7)} ${String(r.p99).padStart(7)} ${String(r.max).padStart(7)}`);
  if (pending.size > 0) console.log(`${pending.size} rotations never arrived at b within 30 s`);
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  const out = { at: new Date().toISOString(), refreshesPerSecond: achieved, seconds: SECONDS, families: FAMILIES, lost: pending.size, results: rows };
  writeFileSync(new URL('./results/replication.json', import.meta.url), `${JSON.stringify(out, null, 2)}\n`);
} finally {
  await set.close();
}
