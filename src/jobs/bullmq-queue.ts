import { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Metrics } from '../observability/metrics.js';
import type { RedisLink } from '../storage/redis/connection.js';
import type { QueueName, RedisKeys } from '../storage/redis/keys.js';
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
  private readonly connections: Redis[] = [];
  private readonly retry: RetryPolicy;
  private readonly producer: Redis;
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(
    readonly name: QueueName,
    private readonly link: RedisLink,
    private readonly o: BullOptions,
  ) {
    this.retry = o.retry ?? RETRY;
    this.producer = this.connect(link.producer());
    this.queue = new Queue(name, { connection: this.producer, prefix: o.keys.bullPrefix });
    this.queue.on('error', (err) => o.logger.warn({ err: err.message, queue: name }, 'queue error'));
  }

  /** The BullMQ queue itself, for the dashboard. */
  get bull(): Queue {
    return this.queue;
  }

  async add(jobs: Job[]): Promise<void> {
    if (jobs.length === 0) return;
    await this.queue.addBulk(jobs.map((j) => ({ name: j.name, data: j.data, opts: { ...jobOptions(this.retry), jobId: j.id } })));
  }

  /**
   * The schedule lives in Redis, so a Redis restarted empty or flushed forgets
   * it: it is checked again whenever the connection comes back and every
   * SCHEDULE_CHECK_MS, and put back when missing. A Redis that is down at
   * start-up does not hold the worker up; the first check that reaches it
   * registers the schedule.
   */
  async schedule(name: string, everyMs: number): Promise<void> {
    const ensure = async () => {
      try {
        if (await this.queue.getJobScheduler(name)) return;
        await this.queue.upsertJobScheduler(name, { every: everyMs }, { name, data: {}, opts: jobOptions(this.retry) });
        this.o.logger.info({ queue: this.name, schedule: name }, 'job schedule registered');
      } catch (err) {
        this.o.logger.warn({ queue: this.name, schedule: name, err: (err as Error).message }, 'job schedule not registered yet; retried when Redis is back');
      }
    };
    this.producer.on('ready', () => void ensure());
    const timer = setInterval(() => void ensure(), SCHEDULE_CHECK_MS);
    timer.unref();
    this.timers.push(timer);
    await ensure();
  }

  process(handler: JobHandler, concurrency: number): void {
    const run = instrumented(this.name, handler, this.o.metrics);
    this.worker = new Worker(this.name, (job) => run({ name: job.name, id: job.id ?? '', data: job.data, attempt: job.attemptsMade + 1, enqueuedAt: job.timestamp }), {
      connection: this.connect(this.link.blocking()),
      prefix: this.o.keys.bullPrefix,
      concurrency,
      lockDuration: this.o.lockMs,
      stalledInterval: this.o.lockMs,
      // A job that keeps killing its workers is failed after this many stalls, not retried forever.
      maxStalledCount: 3,
    });
    this.worker.on('error', (err) => this.o.logger.warn({ err: err.message, queue: this.name }, 'worker error'));
    this.worker.on('failed', (job, err) => {
      if (job && job.attemptsMade >= this.retry.attempts) this.o.logger.error({ queue: this.name, job: job.name, id: job.id, err: err.message }, 'job failed for good');
    });
  }

  async counts(): Promise<JobCounts> {
    const c = await this.queue.getJobCounts('waiting', 'active', 'delayed', 'failed');
    return { waiting: c.waiting ?? 0, active: c.active ?? 0, delayed: c.delayed ?? 0, failed: c.failed ?? 0 };
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    // Worker.close waits for running jobs to finish; their results are recorded before it returns.
    await this.worker?.close();
    await this.queue.close();
    for (const c of this.connections) c.disconnect();
  }

  private connect(conn: Redis): Redis {
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
