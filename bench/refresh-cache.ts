/**
 * Refresh with a warm cache against the same refresh with its cache entry
 * evicted (the database path), in one run on the same machine; and a flood of
 * a revoked token with and without its negative-cache entry. Prints latency,
 * DB statements per request and the ratio to the baseline.
 *
 *   node --import tsx bench/refresh-cache.ts [iterations]
 */
import { createTestApp, json, login, logout, REDIS_URL, refresh, type TestApp, type Tokens } from '../test/helpers.js';
import { testPrefix } from '../test/redis-server.js';

const N = Number(process.argv[2] ?? 400);

interface Result {
  name: string;
  meanMs: number;
  statements: number;
}

async function measure(t: TestApp, name: string, step: () => Promise<void>, before: () => Promise<void> = async () => {}): Promise<Result> {
  for (let i = 0; i < 20; i++) {
    await before();
    await step();
  }
  let total = 0;
  let statements = 0;
  for (let i = 0; i < N; i++) {
    await before();
    t.queries.clear();
    const started = performance.now();
    await step();
    total += performance.now() - started;
    statements += [...t.queries.values()].reduce((a, b) => a + b, 0);
  }
  return { name, meanMs: total / N, statements: statements / N };
}

async function scenario(label: string, env: Record<string, string>): Promise<Result[]> {
  const t = await createTestApp({ env: { MERIDIAN_KEY_RELOAD_INTERVAL: '3600', ...env } });
  try {
    const evictToken = async (token: string) => {
      // A refresh token names its session (its first part), and the session is the cache entry.
      const key = t.services.shared.keys.family(token.split('.')[0]!);
      if (t.services.shared.link) await t.services.shared.link.redis.del(key);
      else t.services.shared.memory!.evict(key);
    };
    let current: Tokens = await login(t.app, `bench-${label}`);
    const rotate = async () => {
      const res = await refresh(t.app, current.refresh_token);
      if (res.statusCode !== 200) throw new Error(`refresh failed: ${res.body}`);
      current = json<Tokens>(res);
    };
    // Misses first: any warm-up favours the second measurement, so it cannot flatter the cache.
    const miss = await measure(t, `${label}: refresh, cache miss`, rotate, () => evictToken(current.refresh_token));
    const hit = await measure(t, `${label}: refresh, cache hit`, rotate);

    const dead = await login(t.app, `bench-dead-${label}`);
    await logout(t.app, dead.access_token);
    const refuse = async () => {
      if ((await refresh(t.app, dead.refresh_token)).statusCode !== 400) throw new Error('dead token accepted');
    };
    const deadHit = await measure(t, `${label}: revoked token, negative cache`, refuse);
    const deadMiss = await measure(t, `${label}: revoked token, no entry`, refuse, () => evictToken(dead.refresh_token));
    return [miss, hit, deadMiss, deadHit];
  } finally {
    await t.close();
  }
}

const results = [...(await scenario('redis', { REDIS_URL, MERIDIAN_REDIS_PREFIX: testPrefix('bench') })), ...(await scenario('memory', {}))];
console.log(`${N} sequential requests each, PostgreSQL on loopback, in-process HTTP (inject)`);
for (let i = 0; i < results.length; i += 2) {
  const [base, cached] = [results[i]!, results[i + 1]!];
  for (const r of [base, cached]) {
    console.log(
      `${r.name.padEnd(42)} ${r.meanMs.toFixed(3)} ms/req  ${r.statements.toFixed(2)} DB statements/req  x${(base.meanMs / r.meanMs).toFixed(2)} vs miss`,
    );
  }
}
