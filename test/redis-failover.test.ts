/**
 * kill -9 of the Redis master (Sentinel, one replica) under login, refresh
 * and logout traffic, with the worker tier running its queues on it. Redis
 * is never the truth: no request is refused while it fails over (they are
 * served from PostgreSQL), Meridian follows the new master by itself, and
 * every cache-sync job queued before or during the failover still runs.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { BullQueue } from '../src/jobs/bullmq-queue.js';
import { startWorkerTier, type WorkerTier } from '../src/jobs/worker-tier.js';
import { everyRevocationJobRun, throughFailover } from './failover-load.js';
import { createTestApp, eventually, json, type TestApp, tierDeps } from './helpers.js';
import { testPrefix } from './redis-server.js';
import { type SentinelSet, startSentinelSet } from './redis-sentinel.js';

const CLIENTS = 6;

describe('Redis failover (Sentinel)', () => {
  let set: SentinelSet;
  let t: TestApp;
  let tier: WorkerTier;
  before(async () => {
    set = await startSentinelSet();
    t = await createTestApp({ env: { REDIS_URL: set.url, MERIDIAN_REDIS_PREFIX: testPrefix('sentinel') } });
    tier = await startWorkerTier(tierDeps(t));
  });
  after(async () => {
    await tier?.close();
    await t?.close();
    await set?.close();
  });

  const cache = async () => json<{ checks: { cache: string } }>(await t.app.inject({ url: '/readyz' })).checks.cache;

  it('a killed master: nothing refused, Meridian on the new master, every queued job run', async () => {
    assert.equal(await cache(), 'ok');
    let killed = 0;
    let cacheBack = 0;
    const { load, killedAt } = await throughFailover(
      t.app,
      'redisfail',
      CLIENTS,
      async () => {
        const oldPort = await set.masterPort();
        assert.equal(oldPort, set.servers[0]!.port);
        killed = performance.now();
        await set.servers[0]!.stop();
        assert.equal(await set.failedOver(oldPort), set.servers[1]!.port);
      },
      async () => {
        await eventually(
          async () => (await cache()) === 'ok',
          30_000,
          () => `the cache to be used again, on the new master (${t.services.shared.link?.redis.status})`,
        );
        cacheBack = performance.now() - killed;
      },
    );
    assert.equal(load.outage(killedAt), undefined, 'no request answered 503');
    await load.verify(t.db);

    const jobs = await everyRevocationJobRun(t.db, (tier.sync as BullQueue).bull, load.acknowledged.logouts);
    console.log(
      `redis failover: ${JSON.stringify(load.acknowledged)} acknowledged, no 503; cache in use again ${Math.round(cacheBack)} ms after the kill; ` +
        `${jobs} cache-sync jobs all completed`,
    );
  });
});
