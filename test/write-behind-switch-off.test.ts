/**
 * A region switched from write-behind back to sync (MERIDIAN_REFRESH_WRITES
 * unset again) with rotations still pending in Redis: its worker still
 * drains them, so PostgreSQL (and every other region) catches up, and a token
 * consumed in Redis stays consumed instead of looking "ahead" of PostgreSQL.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startWorkerTier } from '../src/jobs/worker-tier.js';
import { ManualClock } from '../src/util/runtime.js';
import { createTestApp, eventually, json, login, refresh, type TestApp, type Tokens, tierDeps } from './helpers.js';
import { type RedisServer, startRedisServer, testPrefix } from './redis-server.js';

describe('write-behind switched off with rotations pending', () => {
  let server: RedisServer;
  let wb: TestApp;
  let sync: TestApp;
  const clock = new ManualClock(Date.now());

  before(async () => {
    server = await startRedisServer();
    const env = { REDIS_URL: server.url, MERIDIAN_REDIS_PREFIX: testPrefix('wb-off'), MERIDIAN_REFRESH_GRACE_SECONDS: '0' };
    wb = await createTestApp({ clock, env: { ...env, MERIDIAN_REFRESH_WRITES: 'write-behind' } });
    sync = await createTestApp({ clock, env, databaseUrl: wb.config.databaseUrl });
  });
  after(async () => {
    await sync.close();
    await wb.close();
    await server.close();
  });

  it("the sync region's worker writes what is pending, and a consumed token stays consumed", async () => {
    const t0 = await login(wb.app, 'wb-off');
    clock.advance(1000);
    const t1 = json<Tokens>(await refresh(wb.app, t0.refresh_token));
    clock.advance(1000);
    const t2 = json<Tokens>(await refresh(wb.app, t1.refresh_token));
    // The operator switches the region back to sync: the new worker runs in sync mode.
    const tier = await startWorkerTier(tierDeps(sync));
    try {
      const sid = t0.refresh_token.split('.')[0]!;
      const flushed = await eventually(
        async () => (await sync.db.query<{ generation: number }>('SELECT generation FROM sessions WHERE id = $1', [sid])).rows[0]!.generation === 2,
        3000,
        'the pending rotations to reach PostgreSQL',
      ).catch(() => false);
      clock.advance(60_000);
      // The cache says generation 2 (t1 is reuse), which a sync process confirms in PostgreSQL, still at 0.
      const replay = await refresh(sync.app, t1.refresh_token);
      assert.equal(replay.statusCode, 400, `t1 consumed a minute ago, accepted again: ${replay.statusCode}`);
      assert.ok(flushed, 'pending rotations were never written to PostgreSQL');
      void t2;
    } finally {
      await tier.close();
    }
  });
});
