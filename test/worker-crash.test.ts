/**
 * `meridian worker` killed with SIGKILL in the middle of a job: another
 * worker runs the job again once its lock lapses, and the end state is that
 * of one clean run. The job is held mid-run deterministically: the test
 * locks the refresh_tokens table, so the worker's cleanup waits inside its
 * first DELETE until the test lets go.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { Queue } from 'bullmq';
import pg from 'pg';
import { QUEUES, redisKeys } from '../src/storage/redis/keys.js';
import { ManualClock } from '../src/util/runtime.js';
import { createTestApp, eventually, login, type TestApp } from './helpers.js';
import { startRedisServer, testPrefix, type RedisServer } from './redis-server.js';
import { exited, startWorker } from './worker-process.js';

const DAY = 86_400_000;

describe('a worker killed mid-job', () => {
  let server: RedisServer;
  let t: TestApp;
  let env: Record<string, string>;
  const children: ChildProcess[] = [];

  before(async () => {
    server = await startRedisServer();
    // Sessions made 40 days ago have expired by the real clock the worker runs on.
    t = await createTestApp({ clock: new ManualClock(Date.now() - 40 * DAY) });
    env = {
      DATABASE_URL: t.config.databaseUrl!,
      REDIS_URL: server.url,
      MERIDIAN_REDIS_PREFIX: testPrefix('crash'),
      MERIDIAN_MASTER_KEY: Buffer.alloc(32, 7).toString('base64url'),
      MERIDIAN_JOB_LOCK_SECONDS: '1',
      MERIDIAN_CLEANUP_INTERVAL: '86400',
      MERIDIAN_WORKER_METRICS_PORT: '0',
      LOG_LEVEL: 'info',
    };
  });
  after(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await t.close();
    await server.close();
  });

  it('loses nothing: the job runs again elsewhere and ends as one clean run would', async () => {
    await login(t.app, 'expired-1');
    await login(t.app, 'expired-2');
    t.clock.set(Date.now());
    await login(t.app, 'live-1');

    const locker = new pg.Client({ connectionString: t.config.databaseUrl });
    await locker.connect();
    await locker.query('BEGIN');
    // Blocks DELETE on the table (not reads): the worker's cleanup will wait inside its first statement.
    await locker.query('LOCK TABLE refresh_tokens IN SHARE ROW EXCLUSIVE MODE');

    const first = startWorker(env);
    children.push(first.child);
    await eventually(() => first.output.join('').includes('worker started'), 20_000, 'first worker started');
    const queue = new Queue(QUEUES.maintenance, {
      connection: { host: '127.0.0.1', port: server.port },
      prefix: redisKeys(env.MERIDIAN_REDIS_PREFIX!).bullPrefix,
    });
    try {
      // The schedule's first cleanup starts at once; this one queues behind it.
      await queue.add('cleanup', {}, { jobId: 'cleanup-extra', attempts: 3 });
      // Only the cleanup writes to refresh_tokens here, so a waiter for that lock is the cleanup, inside its DELETE
      // (pg_locks rather than the query text: a statement still being parsed on a new connection shows no text yet).
      await eventually(
        async () =>
          (await locker.query(`SELECT 1 FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 'refresh_tokens' AND NOT l.granted`)).rows
            .length > 0,
        10_000,
        'cleanup waiting inside its DELETE',
      );
      const [inFlight] = await queue.getActive();
      assert.ok(inFlight?.id, 'a cleanup job is in flight');

      first.child.kill('SIGKILL');
      assert.equal(await exited(first.child), null);
      await locker.query('ROLLBACK');
      await locker.end();

      const second = startWorker(env);
      children.push(second.child);
      for (const id of [inFlight.id, 'cleanup-extra']) {
        await eventually(async () => (await (await queue.getJob(id))?.getState()) === 'completed', 30_000, `${id} completed by the second worker`);
      }
      assert.equal(await queue.getFailedCount(), 0);
      const remaining = await t.db.query<{ username: string }>('SELECT u.username FROM sessions s JOIN users u ON u.id = s.user_id ORDER BY 1');
      assert.deepEqual(
        remaining.rows.map((r) => r.username),
        ['live-1'],
      );

      // The worker's own /metrics counts the job it ran.
      const started = second.output
        .join('')
        .split('\n')
        .find((l) => l.includes('worker started'));
      const metricsPort = (JSON.parse(started!) as { metricsPort: number }).metricsPort;
      const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      assert.match(metrics, /meridian_queue_job_duration_seconds_count\{[^}]*queue="maintenance"[^}]*result="completed"[^}]*\} [1-9]/);

      // Graceful stop: SIGTERM lets the worker finish and exit cleanly.
      second.child.kill('SIGTERM');
      assert.equal(await exited(second.child), 0);
    } finally {
      await queue.close();
    }
  });
});
