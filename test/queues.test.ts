/**
 * The two job queues behind the worker tier: BullMQ and the in-process one
 * keep the same promises (retries with backoff, failed jobs kept, no
 * duplicate ids, a schedule, a graceful close).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BullQueueBackend } from '../src/jobs/bullmq-queue.js';
import { MemoryQueueBackend } from '../src/jobs/memory-queue.js';
import type { QueueBackend } from '../src/jobs/queue.js';
import { createLogger } from '../src/observability/logger.js';
import { createMetrics } from '../src/observability/metrics.js';
import { RedisLink } from '../src/storage/redis/connection.js';
import { QUEUES, redisKeys } from '../src/storage/redis/keys.js';
import { eventually, REDIS_URL } from './helpers.js';
import { testPrefix } from './redis-server.js';

const KINDS = ['bullmq', 'memory'] as const;
const retry = { attempts: 3, backoffMs: 20 };

for (const kind of KINDS) {
  describe(`job queue (${kind})`, () => {
    const logger = createLogger('silent');
    const metrics = createMetrics('test');
    let link: RedisLink | undefined;
    const backends: QueueBackend[] = [];
    const open = () => {
      const b =
        kind === 'bullmq'
          ? new BullQueueBackend(link!, { keys: redisKeys(testPrefix('queue')), lockMs: 5000, metrics, logger, retry })
          : new MemoryQueueBackend(metrics, logger, retry);
      backends.push(b);
      return b.open(QUEUES.maintenance);
    };
    before(async () => {
      if (kind === 'bullmq') {
        link = new RedisLink(REDIS_URL, logger);
        await link.ready(2000);
      }
    });
    after(async () => {
      await Promise.all(backends.map((b) => b.close()));
      await link?.close();
    });

    it('retries a failing job with backoff until it succeeds', async () => {
      const q = open();
      const attempts: number[] = [];
      q.process(async (job) => {
        attempts.push(job.attempt);
        if (job.attempt < 3) throw new Error('not yet');
      }, 1);
      await q.add([{ name: 'flaky', id: 'flaky-1', data: {} }]);
      await eventually(() => attempts.length === 3, 10_000, 'three attempts');
      await eventually(async () => (await q.counts()).delayed + (await q.counts()).waiting === 0, 5000, 'done');
      assert.deepEqual(attempts, [1, 2, 3]);
      assert.equal((await q.counts()).failed, 0);
    });

    it('keeps a job that runs out of attempts as failed', async () => {
      const q = open();
      let runs = 0;
      q.process(async () => {
        runs++;
        throw new Error('always');
      }, 1);
      await q.add([{ name: 'doomed', id: 'doomed-1', data: {} }]);
      await eventually(async () => (await q.counts()).failed === 1, 10_000, 'failed kept');
      assert.equal(runs, retry.attempts);
    });

    it('adds a job whose id is already queued only once', async () => {
      const q = open();
      const seen: string[] = [];
      await q.add([
        { name: 'once', id: 'same-id', data: { n: 1 } },
        { name: 'once', id: 'same-id', data: { n: 2 } },
      ]);
      await q.add([{ name: 'once', id: 'same-id', data: { n: 3 } }]);
      await q.add([{ name: 'once', id: 'queued-after', data: {} }]);
      q.process(async (job) => {
        seen.push(job.id);
      }, 1);
      // One at a time, in the order added: once the job added last has run, any copy would have too.
      await eventually(() => seen.includes('queued-after'), 5000, 'the job added after the copies ran');
      assert.deepEqual(seen, ['same-id', 'queued-after']);
    });

    it('runs a scheduled job repeatedly', async () => {
      const q = open();
      let runs = 0;
      q.process(async () => {
        runs++;
      }, 1);
      await q.schedule('tick', 100);
      await eventually(() => runs >= 2, 10_000, 'two scheduled runs');
    });

    it('on close, finishes the job in hand before returning', async () => {
      const q = open();
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      let started = false;
      let finished = false;
      q.process(async () => {
        started = true;
        await gate;
        finished = true;
      }, 1);
      await q.add([{ name: 'slow', id: 'slow-1', data: {} }]);
      await eventually(() => started, 5000, 'started');
      const closing = q.close();
      setTimeout(release, 50);
      await closing;
      assert.equal(finished, true);
    });
  });
}
