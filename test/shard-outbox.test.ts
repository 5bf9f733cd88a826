/**
 * Outbox row ids are per database (bigserial), while every shard's relay
 * queues its revocations' cache-sync jobs into the region's one sync queue,
 * whose job ids drop repeats (BullMQ keeps completed ids an hour). So a
 * shard's jobs carry its name: two shards' revocations with the same row id
 * each get their job.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { normalizeUsername } from '../src/auth/usernames.js';
import type { BullQueue } from '../src/jobs/bullmq-queue.js';
import { startWorkerTier } from '../src/jobs/worker-tier.js';
import { SLOTS, slotOfName } from '../src/util/slots.js';
import { bearer, createDatabase, createTestApp, eventually, login, post, register, type TestApp, tierDeps } from './helpers.js';
import { type RedisServer, startRedisServer } from './redis-server.js';

describe('cache-sync job ids over two shards', () => {
  const dbs: { url: string; drop: () => Promise<void> }[] = [];
  const clients: pg.Client[] = [];
  let t: TestApp;
  let redis: RedisServer;
  const shardOfSlot = (slot: number): number => Math.floor((slot * 2) / SLOTS);

  before(async () => {
    for (let i = 0; i < 2; i++) dbs.push(await createDatabase('meridian_shard_outbox'));
    redis = await startRedisServer();
    t = await createTestApp({
      databaseUrl: dbs[0]!.url,
      env: { MERIDIAN_SHARDS: `s1=${dbs[1]!.url}`, REDIS_URL: redis.url },
      services: { openStorage: undefined },
    });
    for (const d of dbs) {
      const c = new pg.Client({ connectionString: d.url });
      await c.connect();
      clients.push(c);
    }
  });

  after(async () => {
    await t?.close();
    for (const c of clients) await c.end();
    await redis?.close();
    for (const d of dbs) await d.drop();
  });

  it("queues the cache sync of both shards' revocations when their outbox rows have the same id", async () => {
    // One user on each shard.
    const names: string[] = [];
    for (let i = 0; names.length < 2 && i < 200; i++) {
      const u = `outbox-ids-${i}`;
      if (shardOfSlot(slotOfName(normalizeUsername(u))) === names.length) {
        await register(t.app, u);
        names.push(u);
      }
    }
    const sessions = await Promise.all(names.map((u) => login(t.app, u)));
    // Both outboxes at the same point (as two busy shards' sequences are sooner or later).
    for (const c of clients) await c.query("SELECT setval('outbox_id_seq', 5000)");
    for (const s of sessions) assert.equal((await post(t.app, '/v1/auth/logout', {}, bearer(s.access_token))).statusCode, 204);
    const ids = await Promise.all(
      clients.map(async (c) => (await c.query<{ id: string }>("SELECT id::text FROM outbox WHERE kind = 'revoked'")).rows.map((r) => r.id)),
    );
    assert.deepEqual(ids, [['5001'], ['5001']], 'the same row id on both shards');

    // The worker tier on BullMQ (`meridian worker`): a relay per database, one sync queue.
    const tier = await startWorkerTier(tierDeps(t));
    try {
      const synced = async () =>
        (await Promise.all(clients.map((c) => c.query("SELECT 1 FROM outbox WHERE kind = 'revoked' AND synced_at IS NULL")))).every((r) => r.rowCount === 0);
      // (Cleanup may delete a row once synced.)
      await eventually(synced, 10_000, 'both rows marked synced');
      const bull = (tier.sync as BullQueue).bull;
      await eventually(async () => (await bull.getJobCounts('waiting', 'active', 'delayed')).waiting === 0, 10_000, 'queue drained');
      const jobs = await bull.getJobs(['completed', 'failed', 'waiting', 'active', 'delayed']);
      const want = sessions.map((s) => s.refresh_token.split('.')[0]!).sort();
      assert.deepEqual(
        jobs.map((j) => (j.data as { sessionId: string }).sessionId).sort(),
        want,
        `each shard's revocation gets its cache-sync job (job ids: ${jobs.map((j) => j.id).join(', ')})`,
      );
    } finally {
      await tier.close();
    }
  });
});
