import type { Logger } from 'pino';
import type { Metrics } from '../observability/metrics.js';
import type { RotationLedger, RotationSink } from '../storage/background.js';
import type { Clock } from '../util/runtime.js';
import { PollLoop } from '../util/poll-loop.js';

/** How long pending rotations wait at most while the flush is idle: the bound on what a lost Redis can cost. */
export const FLUSH_INTERVAL_MS = 100;
/** How many rotations one flush writes (one statement); a scan step may bring a few more. */
export const FLUSH_BATCH = 1000;
/** How long the rotations of a shard that failed are passed over before the flush tries that shard again. */
const HOLD_MS = 1000;

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
  /** The rotations of the shards that failed last, passed over until `until`. */
  private held: { holds: (sessionId: string) => boolean; until: number } | undefined;

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
    const held = this.held && this.clock.now() < this.held.until ? this.held.holds : undefined;
    const batch = await this.ledger.pending(FLUSH_BATCH, held);
    if (batch.length === 0) return 0;
    // In a sharded region a shard that is down keeps its rotations pending; the others' are forgotten. Its
    // rotations are then passed over for a while, so that they do not fill every batch and hold the others back.
    const { written, failed } = await this.sink.apply(batch);
    if (failed) this.held = { holds: failed.holds, until: this.clock.now() + HOLD_MS };
    await this.ledger.forget(written);
    const now = this.clock.now();
    for (const p of written) this.metrics.flushLag.observe(Math.max(0, now - p.rotatedAt) / 1000);
    this.metrics.flushBatch.observe(written.length);
    // Nothing written is a failed flush: logged, and retried after the loop's pause.
    if (failed && written.length === 0) throw failed.error;
    return written.length;
  }
}
