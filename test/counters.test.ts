/**
 * Throttling counters: the same contract in Redis and in process, and a
 * lockout that holds across the processes of a region.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type CounterStore, MemoryCounterStore } from '../src/auth/counters.js';
import { createLogger } from '../src/observability/logger.js';
import { RedisLink } from '../src/storage/redis/connection.js';
import { RedisCounterStore } from '../src/storage/redis/counters.js';
import { redisKeys } from '../src/storage/redis/keys.js';
import { ManualClock } from '../src/util/runtime.js';
import { createTestApp, json, PASSWORD, post, REDIS_URL, register, type TestApp } from './helpers.js';
import { testPrefix } from './redis-server.js';

const STORES = ['redis', 'memory'] as const;

for (const kind of STORES) {
  describe(`counter store (${kind})`, () => {
    const clock = new ManualClock(Date.parse('2026-06-01T12:00:00Z'));
    let link: RedisLink | undefined;
    let store: CounterStore;
    before(async () => {
      if (kind === 'redis') {
        link = new RedisLink(REDIS_URL, createLogger('silent'));
        await link.ready(2000);
        store = new RedisCounterStore(link, redisKeys(testPrefix('counters')), clock);
      } else {
        store = new MemoryCounterStore(clock);
      }
    });
    after(() => link?.close());

    it('counts hits in a window that starts with the first and ends on the clock', async () => {
      assert.equal(await store.get('k1'), null);
      const first = await store.increment('k1', 60_000);
      assert.deepEqual(first, { count: 1, resetAt: clock.now() + 60_000 });
      clock.advance(30_000);
      assert.deepEqual(await store.increment('k1', 60_000), { count: 2, resetAt: first.resetAt });
      assert.deepEqual(await store.get('k1'), { count: 2, resetAt: first.resetAt });
      clock.advance(30_000);
      assert.equal(await store.get('k1'), null);
      assert.deepEqual(await store.increment('k1', 60_000), { count: 1, resetAt: clock.now() + 60_000 });
    });

    it('counts parallel hits exactly', async () => {
      const results = await Promise.all(Array.from({ length: 20 }, () => store.increment('k2', 60_000)));
      assert.deepEqual(
        results.map((r) => r.count).sort((x, y) => x - y),
        Array.from({ length: 20 }, (_, i) => i + 1),
      );
    });

    it('take hands out at most the limit to parallel callers, and a refusal adds nothing', async () => {
      const takes = await Promise.all(Array.from({ length: 20 }, () => store.take('k4', 60_000, 7)));
      assert.equal(takes.filter((t) => t.granted).length, 7);
      assert.deepEqual(await store.get('k4'), { count: 7, resetAt: takes[0]!.resetAt });
      await Promise.all(takes.map((t) => t.giveBack()));
      assert.deepEqual(await store.get('k4'), { count: 0, resetAt: takes[0]!.resetAt });
    });

    it('gives back only into the window taken from', async () => {
      const old = await store.take('k5', 60_000, 5);
      clock.advance(60_000);
      const fresh = await store.take('k5', 60_000, 5);
      await old.giveBack();
      assert.deepEqual(await store.get('k5'), { count: 1, resetAt: fresh.resetAt });
      await store.reset('k5');
      // A window is known by its end (Redis keeps no other identity): the next one starts a moment later.
      clock.advance(1);
      await store.take('k5', 60_000, 5);
      await fresh.giveBack();
      assert.equal((await store.get('k5'))?.count, 1);
    });

    it('reset forgets the window', async () => {
      await store.increment('k3', 60_000);
      await store.reset('k3');
      assert.equal(await store.get('k3'), null);
    });
  });
}

describe('login throttling across processes', () => {
  let a: TestApp;
  let b: TestApp;
  before(async () => {
    const env = { REDIS_URL, MERIDIAN_REDIS_PREFIX: testPrefix('throttle'), MERIDIAN_LOGIN_MAX_FAILURES: '3' };
    a = await createTestApp({ env });
    b = await createTestApp({ databaseUrl: a.config.databaseUrl, clock: a.clock, env });
  });
  after(async () => {
    await b.close();
    await a.close();
  });

  it('failures counted by one process lock the account in the other', async () => {
    await register(a.app, 'throttled');
    const wrong = { username: 'throttled', password: 'this is not the password' };
    assert.equal((await post(a.app, '/v1/auth/login', wrong)).statusCode, 400);
    assert.equal((await post(b.app, '/v1/auth/login', wrong)).statusCode, 400);
    assert.equal((await post(a.app, '/v1/auth/login', wrong)).statusCode, 400);
    const locked = await post(b.app, '/v1/auth/login', { username: 'throttled', password: PASSWORD });
    assert.equal(locked.statusCode, 429);
    assert.equal(json(locked).error, 'rate_limited');
    assert.ok(Number(locked.headers['retry-after']) > 0);
  });
});
