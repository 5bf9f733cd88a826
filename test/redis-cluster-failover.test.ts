/**
 * kill -9 of a Redis Cluster master under login, refresh and logout traffic.
 * The cache is never the truth: while the master's slots have no owner the
 * requests touching them are served from PostgreSQL (or answered 503 with
 * Retry-After), no live token is refused, the cluster promotes the master's
 * replica, Meridian reaches every slot again through its own connection,
 * and every revocation's cache-sync job, queued before or during, runs.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { BullQueue } from '../src/jobs/bullmq-queue.js';
import { startWorkerTier, type WorkerTier } from '../src/jobs/worker-tier.js';
import { masterOf } from '../src/storage/redis/connection.js';
import { QUEUES } from '../src/storage/redis/keys.js';
import { everyRevocationJobRun, throughFailover } from './failover-load.js';
import { createTestApp, eventually, type TestApp, tierDeps } from './helpers.js';
import { type RedisClusterSet, startRedisCluster } from './redis-cluster.js';
import { testPrefix } from './redis-server.js';

const CLIENTS = 6;

describe('Redis Cluster failover', () => {
  let set: RedisClusterSet;
  let t: TestApp;
  let tier: WorkerTier;
  before(async () => {
    set = await startRedisCluster();
    t = await createTestApp({ env: { REDIS_URL: set.url, MERIDIAN_REDIS_PREFIX: testPrefix('cluster-fail') } });
    tier = await startWorkerTier(tierDeps(t));
  });
  after(async () => {
    await tier?.close();
    await t?.close();
    await set?.close();
  });

  // One key per session bucket: together they lie on every master, so all answering means every slot is served.
  const everySlot = async () => {
    const link = t.services.shared.link!;
    try {
      await Promise.all(t.services.shared.keys.pendingRotationHashes.map((key) => link.run((r) => r.hlen(key))));
      return true;
    } catch {
      return false;
    }
  };

  it('a killed master: nothing refused wrongly, its replica promoted, every slot served again', async () => {
    assert.ok(await everySlot());
    let killed = 0;
    let back = 0;
    const { load, killedAt } = await throughFailover(
      t.app,
      'clusterfail',
      CLIENTS,
      async () => {
        // The master holding the cache-sync queue: the hard case for the queued jobs.
        const queueKey = `${t.services.shared.keys.queuePrefix(QUEUES.sync)}:${QUEUES.sync}`;
        const master = (await masterOf(t.services.shared.link!.redis, queueKey)).options.port;
        assert.ok((await set.masters()).includes(master!));
        const replica = await set.replicaOf(master!);
        killed = performance.now();
        await set.servers.find((s) => s.port === master)!.stop();
        await set.promoted(master!, replica);
      },
      async () => {
        await eventually(everySlot, 30_000, 'every slot served through the service connection');
        back = performance.now() - killed;
      },
    );
    await load.verify(t.db);

    const jobs = await everyRevocationJobRun(t.db, (tier.sync as BullQueue).bull, load.acknowledged.logouts);
    console.log(
      `redis cluster failover: ${JSON.stringify(load.acknowledged)} acknowledged; ${load.describeOutage(killedAt)}; every slot served ${Math.round(back)} ms after the kill; ${jobs} cache-sync jobs all completed`,
    );
  });
});
