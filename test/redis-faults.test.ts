/**
 * Redis failing under a running service: down, back empty, at start-up,
 * evicting under memory pressure, or configured with the wrong eviction
 * policy. The service keeps answering from PostgreSQL and never answers
 * wrongly.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { bearer, createTestApp, eventually, json, login, logout, metricValue, post, refresh, type TestApp, type Tokens } from './helpers.js';
import { startRedisServer, testPrefix, type RedisServer } from './redis-server.js';

const readyChecks = async (t: TestApp) => json<{ checks: Record<string, string> }>(await t.app.inject({ url: '/readyz' })).checks;

describe('Redis down', () => {
  let server: RedisServer;
  let t: TestApp;
  before(async () => {
    server = await startRedisServer();
    t = await createTestApp({ env: { REDIS_URL: server.url, MERIDIAN_REDIS_PREFIX: testPrefix('down') } });
  });
  after(async () => {
    await t.close();
    await server.close();
  });

  it('login, refresh, logout and verification keep working from PostgreSQL; readiness says degraded; fallbacks are counted', async () => {
    const before = await login(t.app, 'before-outage');
    await server.stop();

    const ready = await t.app.inject({ url: '/readyz' });
    assert.equal(ready.statusCode, 503, 'API.md: not ready while the cache is unreachable');
    assert.ok(ready.headers['retry-after']);
    assert.match(json<{ error_description: string }>(ready).error_description, /cache unreachable/);
    assert.deepEqual(json(ready).checks, { database: 'ok', cache: 'degraded' });

    const during = await login(t.app, 'during-outage');
    const rotated = await refresh(t.app, during.refresh_token);
    assert.equal(rotated.statusCode, 200);
    assert.equal((await refresh(t.app, before.refresh_token)).statusCode, 200);
    assert.equal((await t.app.inject({ url: '/v1/auth/me', headers: bearer(during.access_token) })).statusCode, 200);
    assert.equal((await logout(t.app, during.access_token)).statusCode, 204);
    assert.equal(json(await refresh(t.app, json<Tokens>(rotated).refresh_token)).error, 'invalid_grant');
    assert.equal((await t.app.inject({ url: '/v1/auth/me', headers: bearer(during.access_token) })).statusCode, 401);
    // A wrong password is still counted (in this process while Redis is away).
    assert.equal((await post(t.app, '/v1/auth/login', { username: 'during-outage', password: 'not the password at all' })).statusCode, 400);

    const m = t.services.metrics;
    assert.ok((await metricValue(m.cacheFallbacks, { operation: 'refresh_state' })) >= 2);
    assert.ok((await metricValue(m.cacheFallbacks, { operation: 'counter' })) >= 1);
    assert.ok((await metricValue(m.cacheFallbacks, { operation: 'revocation_publish' })) >= 1);
    assert.ok((await metricValue(m.cacheWrites, { result: 'error' })) >= 1);
  });

  it('reconnects by itself when Redis comes back empty, and serves refreshes from the cache again', async () => {
    await server.start();
    await eventually(async () => (await readyChecks(t)).cache === 'ok', 10_000, 'cache ok');
    const tokens = await login(t.app, 'after-outage');
    t.queries.clear();
    assert.equal((await refresh(t.app, tokens.refresh_token)).statusCode, 200);
    assert.equal(t.queries.get('select') ?? 0, 0);
  });

  it('a Redis that hangs (connected, silent) does not hang requests: they are served from PostgreSQL', async () => {
    const tokens = await login(t.app, 'hung-redis');
    server.pause();
    try {
      const rotated = await refresh(t.app, tokens.refresh_token);
      assert.equal(rotated.statusCode, 200);
      assert.equal((await refresh(t.app, json<Tokens>(rotated).refresh_token)).statusCode, 200);
      assert.equal((await readyChecks(t)).cache, 'degraded');
    } finally {
      server.resume();
    }
    await eventually(async () => (await readyChecks(t)).cache === 'ok', 10_000, 'cache ok');
  });

  it('starts with Redis down, degraded, and uses Redis once it is there', async () => {
    await server.stop();
    const late = await createTestApp({ databaseUrl: t.config.databaseUrl, env: { REDIS_URL: server.url, MERIDIAN_REDIS_PREFIX: testPrefix('late') } });
    try {
      assert.equal((await readyChecks(late)).cache, 'degraded');
      const tokens = await login(late.app, 'started-degraded');
      assert.equal((await refresh(late.app, tokens.refresh_token)).statusCode, 200);
      await server.start();
      await eventually(async () => (await readyChecks(late)).cache === 'ok', 10_000, 'cache ok');
    } finally {
      await late.close();
    }
  });
});

describe('Redis eviction', () => {
  it('logs what is wrong at start-up when maxmemory-policy is not noeviction', async () => {
    const server = await startRedisServer(['--maxmemory-policy', 'allkeys-lru']);
    const t = await createTestApp({ env: { REDIS_URL: server.url, MERIDIAN_REDIS_PREFIX: testPrefix('policy') } });
    try {
      await eventually(() => t.logs.some((l) => l.includes('maxmemory-policy is \\"allkeys-lru\\" but must be \\"noeviction\\"')), 5000, 'policy log');
    } finally {
      await t.close();
      await server.close();
    }
  });

  it('refreshes stay right while Redis evicts entries under memory pressure', async () => {
    const server = await startRedisServer(['--maxmemory', '3mb', '--maxmemory-policy', 'allkeys-random']);
    const t = await createTestApp({ env: { REDIS_URL: server.url, MERIDIAN_REDIS_PREFIX: testPrefix('evict') } });
    try {
      const sessions = await Promise.all([1, 2, 3, 4].map((i) => login(t.app, `evicted-${i}`)));
      const pipeline = server.client.pipeline();
      for (let i = 0; i < 4000; i++) pipeline.set(`filler:${i}`, 'x'.repeat(1024));
      await pipeline.exec();
      const stats = await server.client.info('stats');
      assert.ok(Number(/evicted_keys:(\d+)/.exec(stats)?.[1]) > 0, 'Redis evicted keys');

      const rotated = await Promise.all(sessions.map((s) => refresh(t.app, s.refresh_token)));
      for (const [i, r] of rotated.entries()) {
        assert.equal(r.statusCode, 200);
        const retry = await refresh(t.app, sessions[i]!.refresh_token);
        assert.equal(json<Tokens>(retry).refresh_token, json<Tokens>(r).refresh_token);
      }
      t.clock.advance(11_000);
      for (const [i, r] of rotated.entries()) {
        assert.equal(json(await refresh(t.app, sessions[i]!.refresh_token)).error, 'invalid_grant');
        assert.equal(json(await refresh(t.app, json<Tokens>(r).refresh_token)).error, 'invalid_grant');
      }
    } finally {
      await t.close();
      await server.close();
    }
  });
});
