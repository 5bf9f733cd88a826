import { once } from 'node:events';
import { Queue, Worker } from 'bullmq';
import type { Logger } from 'pino';
import type { Metrics } from '../observability/metrics.js';
import { masterOf, type RedisClient, type RedisLink, RedisUnavailableError } from '../storage/redis/connection.js';
import type { QueueName, RedisKeys } from '../storage/redis/keys.js';
import { within } from '../util/within.js';
import { instrumented, type Job, type JobCounts, type JobHandler, type QueueBackend, RETRY, type RetryPolicy, type WorkQueue } from './queue.js';

export interface BullOptions {
  keys: RedisKeys;
  /**
   * A worker that stops renewing a job's lock for this long (killed, hung) has
   * the job taken back and run by another worker.
   */
  lockMs: number;
  metrics: Metrics;
  logger: Logger;
  retry?: RetryPolicy;
}

/** How often a schedule is checked for (and put back when Redis lost it). */
const SCHEDULE_CHECK_MS = 10_000;
/** How long start-up waits for the first check; a Redis that is down gets its schedule when it is back. */
const FIRST_SCHEDULE_WAIT_MS = 2000;
/** How often closing looks whether Redis is still there to finish it. */
const CLOSE_CHECK_MS = 1000;
/** How long adding jobs waits for a replica to have them (Sentinel and cluster). */
const REPLICA_WAIT_MS = 1000;
/** How long adding jobs waits for a connection being made (its connect timeout): an error or this ends the wait. */
const CONNECT_WAIT_MS = 1000;

/** True once `conn` is ready; false on a connection error or after `ms`. */
function readyWithin(conn: RedisClient, ms: number): Promise<boolean> {
  return conn.status === 'ready' ? Promise.resolve(true) : within(once(conn, 'ready'), ms);
}

function jobOptions(retry: RetryPolicy) {
  return {
    attempts: retry.attempts,
    backoff: { type: 'exponential', delay: retry.backoffMs },
    // Finished jobs are kept a while for the dashboard; failed ones until someone looks (bounded).
    removeOnComplete: { age: 3600, count: 1000 },
    removeOnFail: { count: 10_000 },
  };
}

/**
 * A BullMQ queue on the region's Redis. Jobs survive any process: a job
 * whose worker dies mid-run is found stalled once its lock lapses and runs
 * again elsewhere, so every handler is written to be idempotent.
 */
export class BullQueue implements WorkQueue {
  private readonly queue: Queue;
  private worker: Worker | undefined;
  /** Connections made here: BullMQ does not close connections it was given. */
  private readonly connections: RedisClient[] = [];
  private readonly retry: RetryPolicy;
  private readonly producer: RedisClient;
  private readonly timers: NodeJS.Timeout[] = [];
  private reportedDown = false;

  constructor(
    readonly name: QueueName,
    private readonly link: RedisLink,
    private readonly o: BullOptions,
  ) {
    this.retry = o.retry ?? RETRY;
    this.producer = this.connect(link.producer());
    this.queue = new Queue(name, { connection: this.producer, prefix: o.keys.queuePrefix(name) });
    this.queue.on('error', (err) => this.reportError(err, 'queue error'));
  }

  /** While Redis is down, one line per outage: BullMQ reports every failed reconnect of each of its connections. */
  private reportError(err: Error, msg: string): void {
    const down = this.producer.status !== 'ready';
    if (down && this.reportedDown) return;
    this.reportedDown = down;
    this.o.logger.warn({ err: err.message, queue: this.name }, msg);
  }

  /** The BullMQ queue itself, for the dashboard. */
  get bull(): Queue {
    return this.queue;
  }

  async add(jobs: Job[]): Promise<void> {
    if (jobs.length === 0) return;
    // BullMQ would hold the call until Redis is back; the caller (the outbox relay) retries instead, and can stop meanwhile.
    if (!(await readyWithin(this.producer, CONNECT_WAIT_MS))) throw new RedisUnavailableError(`queue ${this.name}: Redis is unreachable`);
    await this.queue.addBulk(jobs.map((j) => ({ name: j.name, data: j.data, opts: { ...jobOptions(this.retry), jobId: j.id } })));
    if (this.link.replicated) await this.replicated();
  }

  /**
   * Redis replicates after answering: a master lost before its replica had
   * the jobs would take them along in a failover. Until a replica has them the
   * caller keeps its rows (a repeat with the same ids is dropped). A master
   * with no replica connected (its replica is the one that failed) has no
   * failover to fear and is not waited for.
   */
  private async replicated(): Promise<void> {
    const master = await masterOf(this.producer, `${this.o.keys.queuePrefix(this.name)}:${this.name}`);
    if ((await master.wait(1, REPLICA_WAIT_MS)) >= 1) return;
    const replicas = Number(/^connected_slaves:(\d+)/m.exec(await master.info('replication'))?.[1] ?? 0);
    if (replicas > 0) throw new RedisUnavailableError(`queue ${this.name}: no Redis replica acknowledged the jobs`);
  }

  /**
   * The schedule lives in Redis, so a Redis restarted empty or flushed forgets
   * it: it is checked again whenever the connection comes back and every
   * SCHEDULE_CHECK_MS, and put back when missing. A Redis that is down at
   * start-up does not hold the worker up; the first check that reaches it
   * registers the schedule.
   */
  async schedule(name: string, everyMs: number): Promise<void> {
    let checking: Promise<void> | undefined;
    const check = async () => {
      try {
        // Put back when missing, and replaced when it runs at another interval than configured now.
        if ((await this.queue.getJobScheduler(name))?.every === everyMs) return;
        await this.queue.upsertJobScheduler(name, { every: everyMs }, { name, data: {}, opts: jobOptions(this.retry) });
        this.o.logger.info({ queue: this.name, schedule: name }, 'job schedule registered');
      } catch (err) {
        this.o.logger.warn({ queue: this.name, schedule: name, err: (err as Error).message }, 'job schedule not registered yet; retried when Redis is back');
      }
    };
    // BullMQ holds a command until its connection is ready, so a check may wait as long as Redis is down: one at a time.
    const ensure = () => (checking ??= check().finally(() => (checking = undefined)));
    this.producer.on('ready', () => void ensure());
    const timer = setInterval(() => void ensure(), SCHEDULE_CHECK_MS);
    timer.unref();
    this.timers.push(timer);
    // Waited for only briefly: start-up (and the outbox relay after it) must not wait for Redis.
    await within(ensure(), FIRST_SCHEDULE_WAIT_MS);
  }

  process(handler: JobHandler, concurrency: number): void {
    const run = instrumented(this.name, handler, this.o.metrics);
    this.worker = new Worker(
      this.name,
      (job) => run({ name: job.name, id: job.id ?? '', data: job.data, attempt: job.attemptsMade + 1, enqueuedAt: job.timestamp }),
      {
        connection: this.connect(this.link.blocking()),
        prefix: this.o.keys.queuePrefix(this.name),
        concurrency,
        lockDuration: this.o.lockMs,
        stalledInterval: this.o.lockMs,
        // A job that keeps killing its workers is failed after this many stalls, not retried forever.
        maxStalledCount: 3,
      },
    );
    this.worker.on('error', (err) => this.reportError(err, 'worker error'));
    this.worker.on('failed', (job, err) => {
      if (job && job.attemptsMade >= this.retry.attempts)
        this.o.logger.error({ queue: this.name, job: job.name, id: job.id, err: err.message }, 'job failed for good');
    });
  }

  async counts(): Promise<JobCounts> {
    const c = await this.queue.getJobCounts('waiting', 'active', 'delayed', 'failed');
    return { waiting: c.waiting ?? 0, active: c.active ?? 0, delayed: c.delayed ?? 0, failed: c.failed ?? 0 };
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    // Worker.close waits for running jobs to finish; their results are recorded before it returns. That
    // needs Redis: with Redis down it is not waited for (a job whose result is lost runs again once its
    // lock lapses; every handler is idempotent), and a close that Redis leaves hanging is given up.
    const force = this.producer.status !== 'ready';
    const closing = (async () => {
      await this.worker?.close(force);
      await this.queue.close();
    })().catch((err: Error) => this.o.logger.warn({ err: err.message, queue: this.name }, 'queue closed without Redis'));
    while (!(await within(closing, CLOSE_CHECK_MS))) if (this.producer.status !== 'ready') break;
    for (const c of this.connections) c.disconnect();
  }

  private connect(conn: RedisClient): RedisClient {
    this.connections.push(conn);
    return conn;
  }
}

export class BullQueueBackend implements QueueBackend {
  private readonly queues: BullQueue[] = [];

  constructor(
    private readonly link: RedisLink,
    private readonly o: BullOptions,
  ) {}

  open(name: QueueName): BullQueue {
    const q = new BullQueue(name, this.link, this.o);
    this.queues.push(q);
    return q;
  }

  async close(): Promise<void> {
    await Promise.all(this.queues.map((q) => q.close()));
  }
}
