/**
 * The worker under dependency faults: its PostgreSQL link cut again and
 * again while its relay holds a transaction open, and its Redis restarted
 * empty or flushed. No process exits, no change is left behind, and the
 * cleanup schedule comes back on its own.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { Queue } from 'bullmq';
import pg from 'pg';
import { CLEANUP_JOB, startWorkerTier } from '../src/jobs/worker-tier.js';
import { QUEUES, redisKeys } from '../src/storage/redis/keys.js';
import { createTestApp, eventually, login, logout, type TestApp, tierDeps } from './helpers.js';
import { startRedisServer, testPrefix, type RedisServer } from './redis-server.js';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';
import { exited, startWorker } from './worker-process.js';

const count = async (t: TestApp, where: string) => Number((await t.db.query<{ n: string }>(`SELECT count(*) AS n FROM outbox WHERE ${where}`)).rows[0]!.n);

describe('a worker whose PostgreSQL link drops', () => {
  let redis: RedisServer;
  let t: TestApp;
  let proxy: TcpProxy;
  const children: ChildProcess[] = [];

  before(async () => {
    redis = await startRedisServer();
    t = await createTestApp({ env: { REDIS_URL: redis.url, MERIDIAN_REDIS_PREFIX: testPrefix('pg-cut') } });
    const db = new URL(t.config.databaseUrl!);
    proxy = await startTcpProxy(db.hostname, Number(db.port || 5432));
  });
  after(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await proxy.close();
    await t.close();
    await redis.close();
  });

  it('stays up through cuts in the middle of its transactions, and relays every change once the link is back', async () => {
    const url = new URL(t.config.databaseUrl!);
    url.port = String(proxy.port);
    const worker = startWorker({
      DATABASE_URL: url.toString(),
      REDIS_URL: redis.url,
      MERIDIAN_REDIS_PREFIX: t.config.redisPrefix,
      MERIDIAN_MASTER_KEY: Buffer.alloc(32, 9).toString('base64url'),
      MERIDIAN_WORKER_METRICS_PORT: '0',
      LOG_LEVEL: 'info',
    });
    children.push(worker.child);
    const started = await eventually(
      () =>
        worker.output
          .join('')
          .split('\n')
          .find((l) => l.includes('"worker started"')),
      20_000,
      'worker started',
    );
    const metricsUrl = `http://127.0.0.1:${(JSON.parse(started) as { metricsPort: number }).metricsPort}/metrics`;
    /** Statements the worker saw fail, from its own /metrics. */
    const failedStatements = async () =>
      [...(await (await fetch(metricsUrl)).text()).matchAll(/^meridian_db_queries_total\{[^}]*result="error"[^}]*\} (\d+)/gm)].reduce(
        (n, m) => n + Number(m[1]),
        0,
      );

    const locker = new pg.Client({ connectionString: t.config.databaseUrl });
    await locker.connect();
    try {
      for (let round = 0; round < 4; round++) {
        // Load: sessions made and ended, each ending an outbox row for the worker.
        const sessions = await Promise.all([1, 2, 3].map(() => login(t.app, `cut-${round}`)));
        for (const s of sessions) assert.equal((await logout(t.app, s.access_token)).statusCode, 204);
        // Hold the worker inside its statements: the fan-out in its transaction, the sync in its read.
        await locker.query('BEGIN');
        await locker.query('LOCK TABLE outbox IN ACCESS EXCLUSIVE MODE');
        await eventually(
          async () =>
            (await locker.query(`SELECT 1 FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 'outbox' AND NOT l.granted`)).rows.length >=
            2,
          10_000,
          'both relay paths waiting inside a statement',
        );
        const failedBefore = await failedStatements();
        proxy.cut();
        await locker.query('ROLLBACK');
        // The worker has seen the statements in hand fail and still answers: it handled the drop.
        await eventually(
          async () => worker.child.exitCode !== null || (await failedStatements().catch(() => failedBefore)) > failedBefore,
          10_000,
          'the worker to count the failed statements',
        );
        assert.equal(worker.child.exitCode, null, `the worker is still running after cut ${round + 1}:\n${worker.output.join('').slice(-2000)}`);
        proxy.heal();
      }
      await eventually(async () => (await count(t, 'sent_at IS NULL OR synced_at IS NULL')) === 0, 20_000, 'every row fanned out and synced');
      assert.equal(await count(t, "kind = 'revoked'"), 12);
      assert.equal(worker.child.exitCode, null);
      worker.child.kill('SIGTERM');
      assert.equal(await exited(worker.child), 0);
    } finally {
      await locker.end();
    }
  });
});

describe('the cleanup schedule', () => {
  let redis: RedisServer;
  let t: TestApp;

  before(async () => {
    redis = await startRedisServer();
    t = await createTestApp({ env: { REDIS_URL: redis.url, MERIDIAN_REDIS_PREFIX: testPrefix('schedule') } });
  });
  after(async () => {
    await t.close();
    await redis.close();
  });

  it('comes back after FLUSHALL and after Redis restarts empty', async () => {
    const tier = await startWorkerTier(tierDeps(t));
    const queue = new Queue(QUEUES.maintenance, { connection: { host: '127.0.0.1', port: redis.port }, prefix: redisKeys(t.config.redisPrefix).bullPrefix });
    queue.on('error', () => {});
    const scheduled = async () => (await queue.getJobScheduler(CLEANUP_JOB).catch(() => undefined)) !== undefined;
    try {
      assert.ok(await scheduled(), 'registered at start');
      await redis.client.flushall();
      assert.equal(await scheduled(), false);
      await eventually(scheduled, 20_000, 'schedule back after FLUSHALL');
      await redis.stop();
      await redis.start();
      await eventually(scheduled, 20_000, 'schedule back after a restart');
    } finally {
      await queue.close();
      await tier.close();
    }
  });

  it('follows a changed interval: a worker started with another MERIDIAN_CLEANUP_INTERVAL replaces the stored schedule', async () => {
    const queue = new Queue(QUEUES.maintenance, { connection: { host: '127.0.0.1', port: redis.port }, prefix: redisKeys(t.config.redisPrefix).bullPrefix });
    queue.on('error', () => {});
    const every = async () => (await queue.getJobScheduler(CLEANUP_JOB))?.every;
    const start = (cleanupInterval: number) => startWorkerTier({ ...tierDeps(t), config: { ...t.config, cleanupInterval } });
    try {
      const first = await start(300);
      await eventually(async () => (await every()) === 300_000, 20_000, 'the first interval stored');
      await first.close();
      const second = await start(7);
      await eventually(async () => (await every()) === 7_000, 20_000, 'the new interval stored');
      await second.close();
    } finally {
      await queue.close();
    }
  });
});
