/**
 * The refresh cache, with Redis and with the in-process default: the same
 * behaviour tests run on both. Whatever the cache holds (nothing, a stale
 * entry, half an entry) a refresh behaves as it would without a cache; and
 * when the cache is warm, a refresh reads nothing from PostgreSQL.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RefreshState } from '../src/auth/stores.js';
import { PgSessionStore } from '../src/storage/postgres/repositories.js';
import { familyOf } from '../src/storage/session-state.js';
import { claimsOf, createTestApp, json, login, logout, metricValue, refresh, type TestApp, type Tokens } from './helpers.js';
import { startRedisServer, testPrefix, type RedisServer } from './redis-server.js';

const MODES = ['redis', 'memory'] as const;
// Key reloads are reads; keep them out of the statement counts.
const QUIET = { MERIDIAN_KEY_RELOAD_INTERVAL: '3600' };

let server: RedisServer;
before(async () => {
  server = await startRedisServer();
});
after(() => server.close());

for (const mode of MODES) {
  describe(`refresh cache (${mode})`, () => {
    let t: TestApp;
    /** Another server of the region sharing the database but not this cache: its changes reach the cache late or never. */
    let other: TestApp;

    before(async () => {
      const cacheEnv: Record<string, string> = mode === 'redis' ? { REDIS_URL: server.url, MERIDIAN_REDIS_PREFIX: testPrefix('cache') } : {};
      t = await createTestApp({ env: { ...QUIET, ...cacheEnv } });
      other = await createTestApp({ databaseUrl: t.config.databaseUrl, clock: t.clock, env: QUIET });
    });
    after(async () => {
      await other.close();
      await t.close();
    });

    const flush = async () => {
      if (mode === 'redis') await server.client.flushall();
      else t.services.shared.memory!.clear();
    };
    const evict = async (key: string) => {
      if (mode === 'redis') await server.client.del(key);
      else t.services.shared.memory!.evict(key);
    };
    /** A refresh token names its session: the first part of it is the session id. */
    const sessionOf = (token: string) => token.split('.')[0]!;
    const cachedState = (token: string) => t.services.shared.cache.lookup(sessionOf(token));
    const statements = () => Object.fromEntries(t.queries);

    it('a session this process ended is refused from its revocation set, with no I/O', async () => {
      const tokens = await login(t.app, `ended-here-${mode}`);
      assert.equal((await logout(t.app, tokens.access_token)).statusCode, 204);
      await flush();
      t.queries.clear();
      assert.equal(json(await refresh(t.app, tokens.refresh_token)).error, 'invalid_grant');
      assert.deepEqual(statements(), {});
    });

    it('a refresh on a cache hit reads nothing from PostgreSQL: the rotation is its only statement', async () => {
      const tokens = await login(t.app, `hit-${mode}`);
      const hitsBefore = await metricValue(t.services.metrics.cacheLookups, { result: 'hit' });
      t.queries.clear();
      const res = await refresh(t.app, tokens.refresh_token);
      assert.equal(res.statusCode, 200);
      assert.deepEqual(statements(), { update: 1 });
      assert.equal(await metricValue(t.services.metrics.cacheLookups, { result: 'hit' }), hitsBefore + 1);
      // The rotation was written through: the next refresh is a hit as well.
      t.queries.clear();
      assert.equal((await refresh(t.app, json<Tokens>(res).refresh_token)).statusCode, 200);
      assert.deepEqual(statements(), { update: 1 });
    });

    it('parallel refreshes of one token on a warm cache rotate once and all get the same successor', async () => {
      const tokens = await login(t.app, `race-${mode}`);
      const results = await Promise.all(Array.from({ length: 8 }, () => refresh(t.app, tokens.refresh_token)));
      assert.deepEqual(
        results.map((r) => r.statusCode),
        Array(8).fill(200),
      );
      assert.equal(new Set(results.map((r) => json<Tokens>(r).refresh_token)).size, 1);
    });

    it('answers dead tokens of a revoked family from the cache (negative cache), and refills it after a flush', async () => {
      const tokens = await login(t.app, `dead-${mode}`);
      // Ended by another process: this one's revocation set (which refuses with no I/O at all) does not know.
      assert.equal((await logout(other.app, tokens.access_token)).statusCode, 204);
      assert.equal(json(await refresh(t.app, tokens.refresh_token)).error, 'invalid_grant');
      t.queries.clear();
      for (let i = 0; i < 20; i++) assert.equal(json(await refresh(t.app, tokens.refresh_token)).error, 'invalid_grant');
      assert.deepEqual(statements(), {});

      await flush();
      t.queries.clear();
      assert.equal((await refresh(t.app, tokens.refresh_token)).statusCode, 400);
      assert.deepEqual(statements(), { select: 1 });
      t.queries.clear();
      assert.equal((await refresh(t.app, tokens.refresh_token)).statusCode, 400);
      assert.deepEqual(statements(), {});
    });

    it('after a flush a refresh reads PostgreSQL once, then is served from the refilled cache', async () => {
      const tokens = await login(t.app, `flush-${mode}`);
      await flush();
      t.queries.clear();
      const first = await refresh(t.app, tokens.refresh_token);
      assert.equal(first.statusCode, 200);
      assert.deepEqual(statements(), { select: 1, update: 1 });
      // A grace retry of the flushed token is confirmed at the source and returns the same successor.
      const retry = await refresh(t.app, tokens.refresh_token);
      assert.equal(json<Tokens>(retry).refresh_token, json<Tokens>(first).refresh_token);
      // Reuse after the grace window revokes the family, as without a cache.
      t.clock.advance(11_000);
      assert.equal((await refresh(t.app, tokens.refresh_token)).statusCode, 400);
      assert.equal((await refresh(t.app, json<Tokens>(first).refresh_token)).statusCode, 400);
    });

    it('a stale entry after a rotation elsewhere: a retry inside the grace window gets the same successor, reuse after it revokes', async () => {
      const tokens = await login(t.app, `stale-rot-${mode}`);
      const elsewhere = await refresh(other.app, tokens.refresh_token);
      assert.equal(elsewhere.statusCode, 200);
      assert.equal((await cachedState(tokens.refresh_token))?.generation, 0, 'the cache still believes the token is live');

      const retry = await refresh(t.app, tokens.refresh_token);
      assert.equal(retry.statusCode, 200);
      assert.equal(json<Tokens>(retry).refresh_token, json<Tokens>(elsewhere).refresh_token);

      t.clock.advance(11_000);
      assert.equal(json(await refresh(t.app, tokens.refresh_token)).error, 'invalid_grant');
      assert.equal(json(await refresh(other.app, json<Tokens>(elsewhere).refresh_token)).error, 'invalid_grant');
    });

    it('a stale entry after a logout elsewhere: the token is refused', async () => {
      const tokens = await login(t.app, `stale-rev-${mode}`);
      assert.equal((await logout(other.app, tokens.access_token)).statusCode, 204);
      assert.equal((await cachedState(tokens.refresh_token))?.revokedAt, null, 'the cache still believes the family is live');
      assert.equal(json(await refresh(t.app, tokens.refresh_token)).error, 'invalid_grant');
      // The consistent re-read put the revocation into the cache.
      assert.notEqual((await cachedState(tokens.refresh_token))?.revokedAt, null);
    });

    it('an evicted entry is a miss, never a wrong answer', async () => {
      const keys = t.services.shared.keys;
      const a = await login(t.app, `evict-${mode}`);
      const sid = claimsOf(a.access_token).sid;
      await evict(keys.family(sid));
      const b = await refresh(t.app, a.refresh_token);
      assert.equal(b.statusCode, 200);
      t.clock.advance(11_000);
      await evict(keys.family(sid));
      assert.equal((await refresh(t.app, a.refresh_token)).statusCode, 400, 'reuse still detected');
      assert.equal((await refresh(t.app, json<Tokens>(b).refresh_token)).statusCode, 400, 'and the family revoked');
    });

    it('an entry that does not parse, or names another session, is a miss, never an error or a wrong answer', async () => {
      const keys = t.services.shared.keys;
      const store = t.services.shared.memory;
      // A stray write, at a version no real state reaches, so that no refill replaces it.
      const corrupt = async (key: string, data: string) => {
        if (mode === 'redis') await server.client.hset(key, 'v', 1e9, 'd', data);
        else await store!.setIfNewer([{ key, version: 1e9, data, ttlMs: 60_000 }]);
      };
      const other = await login(t.app, `corrupt-other-${mode}`);
      const otherState = JSON.stringify(familyOf((await cachedState(other.refresh_token)) as RefreshState));
      for (const data of ['not json', '[1,2]', '{"sessionId":42}', 'null', '{"sessionId":', otherState]) {
        const tokens = await login(t.app, `corrupt-${mode}`);
        const sid = sessionOf(tokens.refresh_token);
        await corrupt(keys.family(sid), data);
        const errorsBefore = await metricValue(t.services.metrics.cacheLookups, { result: 'error' });
        assert.equal(await t.services.shared.cache.lookup(sid), null, data);
        const res = await refresh(t.app, tokens.refresh_token);
        assert.equal(res.statusCode, 200, data);
        assert.equal(await metricValue(t.services.metrics.cacheLookups, { result: 'error' }), errorsBefore, data);
      }
    });

    it('an older state never overwrites a newer one (late fill or event)', async () => {
      const tokens = await login(t.app, `order-${mode}`);
      const before = (await new PgSessionStore(t.db).findSession(sessionOf(tokens.refresh_token))) as RefreshState;
      assert.equal((await refresh(t.app, tokens.refresh_token)).statusCode, 200);
      await t.services.shared.cache.write({ families: [familyOf(before)] }, 'sync');
      assert.equal((await cachedState(tokens.refresh_token))?.generation, 1);
    });

    it('gives every entry a lifetime no longer than what it describes', async () => {
      const tokens = await login(t.app, `ttl-${mode}`);
      const s = (await cachedState(tokens.refresh_token)) as RefreshState;
      if (mode === 'redis') {
        const familyTtl = await server.client.pttl(t.services.shared.keys.family(s.sessionId));
        assert.ok(familyTtl > 0 && familyTtl <= s.expiresAt - t.clock.now(), `family TTL ${familyTtl}`);
      } else {
        t.clock.set(s.expiresAt);
        assert.equal(await cachedState(tokens.refresh_token), null);
        assert.equal((await refresh(t.app, tokens.refresh_token)).statusCode, 400);
      }
    });
  });
}
