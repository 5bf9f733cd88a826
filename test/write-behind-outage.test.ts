/**
 * Write-behind rotation across a Redis outage that does not lose
 * Redis's data (the configuration docs/architecture.md recommends:
 * appendonly yes). While Redis is unreachable, rotations and logouts are
 * made in PostgreSQL and their write-through to the cache fails; when Redis
 * comes back its entries are behind PostgreSQL, and a refresh decided on the
 * cached entry is trusted without any PostgreSQL check.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ManualClock } from '../src/util/runtime.js';
import { createTestApp, eventually, json, login, logout, refresh, type TestApp, type Tokens } from './helpers.js';
import { startRedisServer, testPrefix, type RedisServer } from './redis-server.js';

const sessionOf = (token: string) => token.split('.')[0]!;

describe('write-behind across a Redis outage that keeps its data', () => {
  let server: RedisServer;
  let t: TestApp;
  const clock = new ManualClock(Date.now());

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'review-redis-'));
    server = await startRedisServer(['--appendonly', 'yes', '--appendfsync', 'always', '--dir', dir]);
    t = await createTestApp({
      clock,
      env: {
        REDIS_URL: server.url,
        MERIDIAN_REDIS_PREFIX: testPrefix('wb-outage'),
        MERIDIAN_REFRESH_WRITES: 'write-behind',
        MERIDIAN_REFRESH_GRACE_SECONDS: '0',
      },
    });
  });
  after(async () => {
    await t.close();
    await server.close();
  });

  const redisUsable = () =>
    eventually(
      async () =>
        t.services.shared.rotations!.count().then(
          () => true,
          () => false,
        ),
      10_000,
      'the app to reach Redis again',
    );
  const outage = async (during: () => Promise<void>) => {
    await server.stop();
    await during();
    await server.start();
    await redisUsable();
  };
  const row = async (token: string) =>
    (await t.db.query<{ generation: number; revoked_at: Date | null }>('SELECT generation, revoked_at FROM sessions WHERE id = $1', [sessionOf(token)]))
      .rows[0]!;

  it('a token consumed while Redis was down is accepted again afterwards (reuse not detected, a second branch)', async () => {
    const t0 = await login(t.app, 'wb-outage-reuse');
    clock.advance(1000);
    const t1 = json<Tokens>(await refresh(t.app, t0.refresh_token)); // rotated in Redis: entry at generation 1
    let t2!: Tokens;
    await outage(async () => {
      clock.advance(1000);
      const res = await refresh(t.app, t1.refresh_token); // Redis unreachable: rotated in PostgreSQL, 1 -> 2
      assert.equal(res.statusCode, 200, res.body);
      t2 = json<Tokens>(res);
    });
    assert.equal((await row(t1.refresh_token)).generation, 2);
    clock.advance(60_000);
    // t1 was consumed a minute ago (grace 0): presenting it again is reuse and must end the session.
    const replay = await refresh(t.app, t1.refresh_token);
    assert.equal(replay.statusCode, 400, `consumed token accepted again: ${replay.statusCode} ${replay.body}`);
    assert.equal(json(replay).error, 'invalid_grant');
    assert.notEqual((await row(t1.refresh_token)).revoked_at, null, 'the reuse revoked the session');
    void t2;
  });

  it('a logout made while Redis was down does not stop the refresh token once Redis is back', async () => {
    const t0 = await login(t.app, 'wb-outage-logout');
    clock.advance(1000);
    const t1 = json<Tokens>(await refresh(t.app, t0.refresh_token));
    await outage(async () => {
      assert.equal((await logout(t.app, t1.access_token)).statusCode, 204);
    });
    assert.notEqual((await row(t1.refresh_token)).revoked_at, null, 'PostgreSQL has the logout');
    clock.advance(1000);
    const res = await refresh(t.app, t1.refresh_token);
    assert.equal(res.statusCode, 400, `refresh after logout: ${res.statusCode} ${res.body}`);
  });
});
