/**
 * The load generator, run as its own process so that it does not share an
 * event loop with the server it measures. Closed loop: `concurrency` workers
 * each send a request, wait for the answer, and send the next, for
 * `seconds`. Prints one JSON line when its setup is done and the load
 * starts, then one of results.
 *
 * Modes: get (GET `path` with optional bearer), login (POST credentials),
 * refresh-meridian and refresh-oidc (each worker first obtains its own
 * refresh token, then rotates it on every request, as a real client does),
 * refresh-list and login-list (tokens or usernames read from the JSON array
 * in the file `list`, as a seeded region's clients: worker i owns every
 * concurrency-th entry and picks one of its own at random per request, so a
 * rotated token is never presented twice and the population is hit
 * uniformly).
 */
import { readFileSync } from 'node:fs';
import { httpClient, JSON_TYPE } from './http-client.js';

interface Options {
  port: number;
  mode: 'get' | 'login' | 'refresh-meridian' | 'refresh-oidc' | 'refresh-list' | 'login-list';
  concurrency: number;
  seconds: number;
  path?: string;
  bearer?: string;
  username?: string;
  password?: string;
  list?: string;
  /** refresh-list: each entry once, in order, then stop (before `seconds` if that comes first). */
  once?: boolean;
  /** Requests per second per worker; unset = as fast as answers come (closed loop). */
  rate?: number;
}

const opts = JSON.parse(process.argv[2] ?? '{}') as Options;
const { request, close } = httpClient(opts.port, opts.concurrency);
const FORM_TYPE = { 'content-type': 'application/x-www-form-urlencoded' };
const list = opts.list ? (JSON.parse(readFileSync(opts.list, 'utf8')) as string[]) : [];
const own = (i: number) => list.filter((_, k) => k % opts.concurrency === i);
const pick = (n: number) => Math.floor(Math.random() * n);

/** Returns a function that performs one request for worker `i`, after any per-worker setup. */
async function setup(i: number): Promise<() => Promise<number | undefined>> {
  switch (opts.mode) {
    case 'get': {
      const headers: Record<string, string> = opts.bearer ? { authorization: `Bearer ${opts.bearer}` } : {};
      return async () => (await request('GET', opts.path ?? '/', undefined, headers)).status;
    }
    case 'login': {
      const body = JSON.stringify({ username: opts.username, password: opts.password });
      return async () => (await request('POST', '/v1/auth/login', body, JSON_TYPE)).status;
    }
    case 'refresh-meridian': {
      const credentials = JSON.stringify({ username: `${opts.username}-${i}`, password: opts.password });
      await request('POST', '/v1/auth/register', credentials, JSON_TYPE);
      let token = JSON.parse((await request('POST', '/v1/auth/login', credentials, JSON_TYPE)).body).refresh_token as string;
      return async () => {
        const res = await request('POST', '/v1/auth/refresh', JSON.stringify({ refresh_token: token }), JSON_TYPE);
        if (res.status === 200) token = JSON.parse(res.body).refresh_token;
        return res.status;
      };
    }
    case 'refresh-list': {
      const tokens = own(i);
      let next = 0;
      return async () => {
        if (opts.once && next >= tokens.length) return undefined;
        const k = opts.once ? next++ : pick(tokens.length);
        const res = await request('POST', '/v1/auth/refresh', JSON.stringify({ refresh_token: tokens[k] }), JSON_TYPE);
        if (res.status === 200) tokens[k] = JSON.parse(res.body).refresh_token;
        return res.status;
      };
    }
    case 'login-list': {
      const names = own(i);
      return async () => {
        const body = JSON.stringify({ username: names[pick(names.length)], password: opts.password });
        return (await request('POST', '/v1/auth/login', body, JSON_TYPE)).status;
      };
    }
    case 'refresh-oidc': {
      let token = JSON.parse((await request('POST', '/bench/mint')).body).refresh_token as string;
      return async () => {
        const res = await request('POST', '/token', `grant_type=refresh_token&client_id=bench&refresh_token=${token}`, FORM_TYPE);
        if (res.status === 200) token = JSON.parse(res.body).refresh_token;
        return res.status;
      };
    }
  }
}

const workers = await Promise.all(Array.from({ length: opts.concurrency }, (_, i) => setup(i)));
// Setup (registrations, logins) is done: whoever measures the servers' CPU starts now.
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
const latencies: number[] = [];
const statuses: Record<number, number> = {};
const started = performance.now();
const deadline = started + opts.seconds * 1000;
await Promise.all(
  workers.map(async (send) => {
    while (performance.now() < deadline) {
      const t0 = performance.now();
      const status = await send();
      if (status === undefined) break;
      latencies.push(performance.now() - t0);
      statuses[status] = (statuses[status] ?? 0) + 1;
      // A paced probe measures latency without adding load of its own.
      if (opts.rate) await new Promise((r) => setTimeout(r, Math.max(0, 1000 / opts.rate! - (performance.now() - t0))));
    }
  }),
);
const elapsed = (performance.now() - started) / 1000;
latencies.sort((a, b) => a - b);
const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? 0;
const ok = Object.entries(statuses)
  .filter(([s]) => Number(s) < 400)
  .reduce((n, [, c]) => n + c, 0);
process.stdout.write(`${JSON.stringify({ requests: latencies.length, ok, rps: ok / elapsed, p50: pct(50), p99: pct(99), statuses })}\n`);
close();
