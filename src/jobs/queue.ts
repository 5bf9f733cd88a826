import type { Metrics } from '../observability/metrics.js';
import type { QueueName } from '../storage/redis/keys.js';

/**
 * The job-queue contract the worker tier is written against. BullMQ on the
 * region's Redis implements it for many processes; the embedded default runs
 * the same jobs in this process. Both retry a failing job with exponential
 * backoff and keep jobs that run out of attempts, for inspection.
 */
export interface Job {
  name: string;
  /** Unique per job: adding a job whose id is still queued adds nothing. */
  id: string;
  data: unknown;
}

export type JobHandler = (job: Job & { attempt: number /** epoch ms */; enqueuedAt: number }) => Promise<unknown>;

export type JobCounts = Record<'waiting' | 'active' | 'delayed' | 'failed', number>;

export interface WorkQueue {
  readonly name: QueueName;
  add(jobs: Job[]): Promise<void>;
  /** Runs a job called `name` every `everyMs`; one schedule per name however many processes ask. */
  schedule(name: string, everyMs: number): Promise<void>;
  /** Starts running this queue's jobs in this process. */
  process(handler: JobHandler, concurrency: number): void;
  counts(): Promise<JobCounts>;
  /** Stops taking jobs and waits for the running ones to finish. */
  close(): Promise<void>;
}

export interface QueueBackend {
  open(name: QueueName): WorkQueue;
  close(): Promise<void>;
}

export interface RetryPolicy {
  attempts: number;
  /** The wait after the first failure; it doubles after each further one. */
  backoffMs: number;
}

/** Retries: 8 attempts, waiting 1 s, 2 s, 4 s, ... between them (about 2 min in all). */
export const RETRY: RetryPolicy = { attempts: 8, backoffMs: 1000 };

export const backoffDelay = (policy: RetryPolicy, attemptsMade: number): number => policy.backoffMs * 2 ** (attemptsMade - 1);

/** Wraps a handler with the job metrics (wait, duration, failures); both queue kinds use it. */
export function instrumented(queue: QueueName, handler: JobHandler, metrics: Metrics): JobHandler {
  return async (job) => {
    // The wait of a first attempt is queueing; later attempts also wait out their backoff.
    if (job.attempt === 1) metrics.queueJobWaitSeconds.observe({ queue }, Math.max(0, Date.now() - job.enqueuedAt) / 1000);
    const started = performance.now();
    try {
      const result = await handler(job);
      metrics.queueJobSeconds.observe({ queue, result: 'completed' }, (performance.now() - started) / 1000);
      return result;
    } catch (err) {
      metrics.queueJobSeconds.observe({ queue, result: 'failed' }, (performance.now() - started) / 1000);
      throw err;
    }
  };
}
