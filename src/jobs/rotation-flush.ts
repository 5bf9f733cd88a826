import type { Logger } from 'pino';
import type { Metrics } from '../observability/metrics.js';
import type { RotationLedger, RotationSink } from '../storage/background.js';
import type { Clock } from '../util/runtime.js';
import { PollLoop } from '../util/poll-loop.js';

/** How long pending rotations wait at most while the flush is idle: the bound on what a lost Redis can cost. */
export const FLUSH_INTERVAL_MS = 100;
/** How many rotations one flush writes at most (one statement). */
export const FLUSH_BATCH = 1000;

/**
 * The worker's half of write-behind rotation: every 100 ms (at once again
 * after a full batch) it takes the rotations pending in Redis, writes them
 * to PostgreSQL in one statement merged by maximum, and then forgets each
 * one that did not move on meanwhile. A worker killed anywhere in between
 * leaves them pending, and the next flush writes them again: the merge makes
 * that harmless. Several workers may flush side by side for the same reason.
 */
export class RotationFlush {
  private readonly loop: PollLoop;

  constructor(
    private readonly ledger: RotationLedger,
    private readonly sink: RotationSink,
    private readonly clock: Clock,
    private readonly metrics: Metrics,
    logger: Logger,
  ) {
    this.loop = new PollLoop(() => this.flushOnce(), {
      idleMs: FLUSH_INTERVAL_MS,
      maxErrorPauseMs: 1000,
      batch: FLUSH_BATCH,
      onFailing: (err) => logger.warn({ err }, 'write-behind flush failing; rotations stay pending in Redis'),
      onRecovered: () => logger.info('write-behind flush recovered'),
    });
  }

  start(): void {
    this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** One flush; resolves with how many rotations it wrote. */
  async flushOnce(): Promise<number> {
    const batch = await this.ledger.pending(FLUSH_BATCH);
    if (batch.length === 0) return 0;
    // In a sharded region a shard that is down keeps its rotations pending; the others' are forgotten.
    const { written } = await this.sink.apply(batch);
    await this.ledger.forget(written);
    const now = this.clock.now();
    for (const p of written) this.metrics.flushLag.observe(Math.max(0, now - p.rotatedAt) / 1000);
    this.metrics.flushBatch.observe(written.length);
    return written.length;
  }
}
