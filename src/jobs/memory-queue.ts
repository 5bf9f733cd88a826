import type { Logger } from 'pino';
import type { Metrics } from '../observability/metrics.js';
import type { QueueName } from '../storage/redis/keys.js';
import { backoffDelay, instrumented, type Job, type JobCounts, type JobHandler, type QueueBackend, RETRY, type RetryPolicy, type WorkQueue } from './queue.js';

/** Failed jobs kept for inspection; the oldest go first past this. */
const KEEP_FAILED = 1000;

interface Entry extends Job {
  attempt: number;
  enqueuedAt: number;
  error?: string;
}

/**
 * The embedded default's queue: jobs run in this process with the same
 * retries, backoff and failed-job keeping as BullMQ. Nothing survives a
 * restart, which is fine here: the outbox, not the queue, is what keeps
 * changes, and unsent rows are relayed again after a restart.
 */
export class MemoryQueue implements WorkQueue {
  private readonly waiting: Entry[] = [];
  private readonly known = new Set<string>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly idle: (() => void)[] = [];
  readonly failed: Entry[] = [];
  private handler: JobHandler | undefined;
  private concurrency = 1;
  private active = 0;
  private delayed = 0;
  private closed = false;

  constructor(
    readonly name: QueueName,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
    private readonly retry: RetryPolicy = RETRY,
  ) {}

  async add(jobs: Job[]): Promise<void> {
    for (const job of jobs) {
      if (this.closed || this.known.has(job.id)) continue;
      this.known.add(job.id);
      this.waiting.push({ ...job, attempt: 0, enqueuedAt: Date.now() });
    }
    this.pump();
  }

  async schedule(name: string, everyMs: number): Promise<void> {
    let tick = 0;
    const timer = setInterval(() => void this.add([{ name, id: `${name}-${Date.now()}-${tick++}`, data: {} }]), everyMs);
    timer.unref();
    this.timers.add(timer);
  }

  process(handler: JobHandler, concurrency: number): void {
    this.handler = instrumented(this.name, handler, this.metrics);
    this.concurrency = concurrency;
    this.pump();
  }

  async counts(): Promise<JobCounts> {
    return { waiting: this.waiting.length, active: this.active, delayed: this.delayed, failed: this.failed.length };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    if (this.active > 0) await new Promise<void>((resolve) => this.idle.push(resolve));
  }

  private pump(): void {
    while (!this.closed && this.handler && this.active < this.concurrency && this.waiting.length) void this.run(this.waiting.shift() as Entry);
  }

  private async run(job: Entry): Promise<void> {
    this.active++;
    job.attempt++;
    try {
      await (this.handler as JobHandler)(job);
      this.known.delete(job.id);
    } catch (err) {
      job.error = err instanceof Error ? err.message : String(err);
      this.retryOrFail(job);
    } finally {
      this.active--;
      if (this.active === 0) for (const resolve of this.idle.splice(0)) resolve();
      this.pump();
    }
  }

  private retryOrFail(job: Entry): void {
    if (job.attempt >= this.retry.attempts || this.closed) {
      this.known.delete(job.id);
      this.failed.push(job);
      if (this.failed.length > KEEP_FAILED) this.failed.shift();
      this.logger.error({ queue: this.name, job: job.name, id: job.id, attempts: job.attempt, error: job.error }, 'job failed for good');
      return;
    }
    this.delayed++;
    const timer = setTimeout(
      () => {
        this.timers.delete(timer);
        this.delayed--;
        this.waiting.push(job);
        this.pump();
      },
      backoffDelay(this.retry, job.attempt),
    );
    timer.unref();
    this.timers.add(timer);
  }
}

export class MemoryQueueBackend implements QueueBackend {
  private readonly queues: MemoryQueue[] = [];

  constructor(
    private readonly metrics: Metrics,
    private readonly logger: Logger,
    private readonly retry: RetryPolicy = RETRY,
  ) {}

  open(name: QueueName): MemoryQueue {
    const q = new MemoryQueue(name, this.metrics, this.logger, this.retry);
    this.queues.push(q);
    return q;
  }

  async close(): Promise<void> {
    await Promise.all(this.queues.map((q) => q.close()));
  }
}
