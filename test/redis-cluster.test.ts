/**
 * Meridian on a real Redis Cluster (three masters, three replicas): the
 * cache serves refreshes from entries laid out by hash tag, a logout reaches
 * a second API process over the cluster's pub/sub, the worker's BullMQ
 * queues (each in its own `{...}` slot) run the outbox's jobs, and
 * write-behind rotations noted in the bucketed pending hashes are flushed, and
 * the queue dashboard and the queue gauges read the queues there.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { BullQueue } from '../src/jobs/bullmq-queue.js';
import type { Snapshot } from '../src/observability/dashboard-data.js';
import { RotationFlush } from '../src/jobs/rotation-flush.js';
import { startWorkerTier, type WorkerTier } from '../src/jobs/worker-tier.js';
import { SESSION_BUCKETS } from '../src/storage/redis/keys.js';
import { bearer, createTestApp, eventually, json, login, logout, metricValue, refresh, type TestApp, type Tokens, tierDeps } from './helpers.js';
import { type RedisClusterSet, startRedisCluster } from './redis-cluster.js';
import { testPrefix } from './redis-server.js';

const sessionOf = (token: string) => token.split('.')[0]!;
const ADMIN = 'admin-token-for-cluster-tests-0123456789';

describe('Redis Cluster', () => {
  let set: RedisClusterSet;
  let a: TestApp;
  let b: TestApp;
  let tier: WorkerTier;
  before(async () => {
    set = await startRedisCluster();
    const env = { REDIS_URL: set.url, MERIDIAN_REDIS_PREFIX: testPrefix('cluster'), MERIDIAN_ADMIN_TOKEN: ADMIN };
    a = await createTestApp({ env });
    b = await createTestApp({ env, databaseUrl: a.config.databaseUrl, clock: a.clock });
    tier = await startWorkerTier(tierDeps(a));
  });
  after(async () => {
    await tier?.close();
    await b?.close();
    await a?.close();
    await set?.close();
  });

  it('connects to the cluster and lays keys out by hash tag', async () => {
    assert.equal(a.services.shared.link?.cluster, true);
    assert.equal(json<{ checks: { cache: string } }>(await a.app.inject({ url: '/readyz' })).checks.cache, 'ok');
    const tokens = await login(a.app, 'cluster-layout');
    const key = a.services.shared.keys.family(sessionOf(tokens.refresh_token));
    assert.match(key, /:session:\{\d+\}:/);
    assert.equal(await a.services.shared.link!.run((r) => r.exists(key)), 1, 'the session entry is in the cluster');
  });

  it('a refresh is served from the cache; a logout is refused by the other process; the queued job runs', async () => {
    const tokens = await login(a.app, 'cluster-user');
    const rotated = json<Tokens>(await refresh(a.app, tokens.refresh_token));
    const hits = await metricValue(a.services.metrics.cacheLookups, { result: 'hit' });
    const again = json<Tokens>(await refresh(a.app, rotated.refresh_token));
    assert.ok((await metricValue(a.services.metrics.cacheLookups, { result: 'hit' })) > hits, 'the second refresh read the cache');
    assert.equal((await b.app.inject({ url: '/v1/auth/me', headers: bearer(again.access_token) })).statusCode, 200);

    assert.equal((await logout(a.app, again.access_token)).statusCode, 204);
    await eventually(
      async () => (await b.app.inject({ url: '/v1/auth/me', headers: bearer(again.access_token) })).statusCode === 401,
      5000,
      'the logout refused by the other process',
    );
    assert.equal(json(await refresh(b.app, again.refresh_token)).error, 'invalid_grant');

    const bull = (tier.sync as BullQueue).bull;
    assert.match(bull.opts.prefix ?? '', /^\{.*\}$/, 'the queue has its own hash-tag prefix');
    const { rows } = await a.db.query<{ id: string }>("SELECT id FROM outbox WHERE kind = 'revoked' AND session_id = $1", [sessionOf(again.refresh_token)]);
    assert.equal(rows.length, 1);
    await eventually(async () => (await bull.getJobState(`outbox-${rows[0]!.id}`)) === 'completed', 20_000, 'the cache-sync job to complete');
  });

  it('a logout of all sessions writes each revoked entry in its own slot', async () => {
    const sessions: Tokens[] = [];
    for (let i = 0; i < 6; i++) sessions.push(json<Tokens>(await refresh(a.app, (await login(a.app, 'cluster-everywhere')).refresh_token)));
    const keys = sessions.map((s) => a.services.shared.keys.family(sessionOf(s.refresh_token)));
    assert.ok(new Set(keys.map((k) => /\{(\d+)\}/.exec(k)![1])).size > 1, 'the sessions lie in several buckets');
    assert.equal((await logout(a.app, sessions[0]!.access_token, { all_sessions: true })).statusCode, 204);
    const link = a.services.shared.link!;
    for (const key of keys) assert.notEqual((JSON.parse((await link.run((r) => r.hget(key, 'd')))!) as { revokedAt: unknown }).revokedAt, null, key);
    for (const s of sessions) assert.equal(json(await refresh(b.app, s.refresh_token)).error, 'invalid_grant');
  });

  it('write-behind: rotations of sessions in many buckets are flushed from every pending hash', async () => {
    const env = {
      REDIS_URL: set.url,
      MERIDIAN_REDIS_PREFIX: testPrefix('cluster-wb'),
      MERIDIAN_REFRESH_WRITES: 'write-behind',
      MERIDIAN_REFRESH_GRACE_SECONDS: '0',
    };
    const wb = await createTestApp({ env });
    try {
      const rotations = wb.services.shared.rotations!;
      const flush = new RotationFlush(rotations, wb.services.storage.rotations, wb.clock, wb.services.metrics, wb.services.logger);
      const finals: Tokens[] = [];
      for (let i = 0; i < 12; i++) {
        let tokens = await login(wb.app, `cluster-wb-${i}`);
        for (let r = 0; r < 2; r++) tokens = json<Tokens>(await refresh(wb.app, tokens.refresh_token));
        finals.push(tokens);
      }
      const buckets = new Set(finals.map((f) => wb.services.shared.keys.pendingRotations(sessionOf(f.refresh_token))));
      assert.ok(buckets.size > 1 && buckets.size <= SESSION_BUCKETS, 'the sessions lie in several buckets');
      assert.equal(await rotations.count(), finals.length);
      await eventually(async () => (await flush.flushOnce()) === 0 && (await rotations.count()) === 0, 10_000, 'every pending rotation flushed');
      const { rows } = await wb.db.query<{ generation: number }>('SELECT generation FROM sessions WHERE id = ANY($1)', [
        finals.map((f) => sessionOf(f.refresh_token)),
      ]);
      assert.deepEqual(
        rows.map((r) => r.generation),
        finals.map(() => 2),
      );
    } finally {
      await wb.close();
    }
  });

  it('the queue dashboard (bull-board) and the queue gauges read the queues on the cluster', async () => {
    const tokens = await login(a.app, 'cluster-board');
    assert.equal((await logout(a.app, tokens.access_token)).statusCode, 204);
    const bull = (tier.sync as BullQueue).bull;
    const { rows } = await a.db.query<{ id: string }>("SELECT id FROM outbox WHERE kind = 'revoked' AND session_id = $1", [sessionOf(tokens.refresh_token)]);
    await eventually(async () => (await bull.getJobState(`outbox-${rows[0]!.id}`)) === 'completed', 20_000, 'the cache-sync job to complete');

    const auth = bearer(ADMIN);
    const page = await a.app.inject({ url: '/admin/queues', headers: auth });
    assert.equal(page.statusCode, 200);
    assert.match(String(page.headers['content-type']), /text\/html/);
    const api = await a.app.inject({ url: '/admin/queues/api/queues', headers: auth });
    assert.equal(api.statusCode, 200, api.body);
    const queues = json<{ queues: { name: string; counts: Record<string, number> }[] }>(api).queues;
    assert.deepEqual(queues.map((q) => q.name).sort(), ['cache-sync', 'maintenance']);
    assert.ok((queues.find((q) => q.name === 'cache-sync')?.counts.completed ?? 0) >= 1, JSON.stringify(queues));
    assert.equal(queues.find((q) => q.name === 'maintenance')?.counts.delayed, 1, 'the scheduled cleanup');

    // The worker's gauges are sampled at scrape time from the same queues, and the dashboard's backlog is theirs.
    assert.equal((await a.app.inject({ url: '/metrics' })).statusCode, 200);
    assert.equal(await metricValue(a.services.metrics.queueJobs, { queue: 'maintenance', state: 'delayed' }), 1);
    a.clock.advance(60_000);
    const data = await a.app.inject({ url: '/dashboard/data', headers: auth });
    assert.equal(data.statusCode, 200);
    assert.equal(json<{ samples: Snapshot[] }>(data).samples.at(-1)?.queueBacklog.maintenance, 1);
  });
});
