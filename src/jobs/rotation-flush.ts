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
/** The pause after a pass that found only held rotations but could not read them all (its scan budget spent). */
const QUIET_MS = 2 * FLUSH_INTERVAL_MS;

interface Hold {
  /** Whether a session is one held back: on a shard that failed, or of a slot being moved. */
  holds: (sessionId: string) => boolean;
  until: number;
  /** A shard that failed (not a slot being moved). */
  down: boolean;
}

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
  /** Rotations passed over, each set until its own time: of shards that failed (a failure of another adds to them), of slots being moved. */
  private holds: Hold[] = [];
  /** While only held rotations are pending: no scan before this time. */
  private quietUntil = 0;
  /** A shard failed and no pass has since written every shard's rotations (logged once each way). */
  private degraded = false;
  /** Holds of failed shards that ended since: a pass that writes one of their rotations shows the shard back. */
  private lapsed: Hold[] = [];

  constructor(
    private readonly ledger: RotationLedger,
    private readonly sink: RotationSink,
    private readonly clock: Clock,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
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
    const start = this.clock.now();
    // Ends more than a hold away are a wall clock stepped back: forgotten, rather than waited out.
    if (start < this.quietUntil && this.quietUntil - start <= HOLD_MS) return 0;
    this.quietUntil = 0;
    const holds = this.holds.filter((h) => start < h.until && h.until - start <= HOLD_MS);
    for (const h of this.holds) if (!holds.includes(h) && h.down) this.lapsed = [...this.lapsed.slice(-15), h];
    this.holds = holds;
    // In a sharded region a shard that is down keeps its rotations pending; they are passed over for a
    // while, so that they do not fill every batch and hold the other shards' back.
    let passedOver = 0;
    const held = holds.length ? (id: string) => holds.some((h) => h.holds(id)) && ++passedOver > 0 : undefined;
    const { rotations: batch, complete } = await this.ledger.pending(FLUSH_BATCH, held);
    if (batch.length === 0) {
      // All it read was held: no scan again before a hold ends, or, when it could not read everything
      // (a large backlog of a down shard), for a few intervals.
      if (passedOver > 0) this.quietUntil = complete ? Math.min(...holds.map((h) => h.until)) : start + QUIET_MS;
      else this.recovered();
      return 0;
    }
    const { written, failed, guarded } = await this.sink.apply(batch);
    const now = this.clock.now();
    if (failed) {
      this.holds.push({ holds: failed.holds, until: now + HOLD_MS, down: true });
      if (!this.degraded)
        this.logger.warn({ err: failed.error }, 'write-behind flush: a shard is down; its rotations stay pending in Redis, the others are written');
      this.degraded = true;
    } else if (complete || written.some((p) => this.lapsed.some((h) => h.holds(p.sessionId)))) {
      // Every pending rotation read and none failed, or a shard held before took its own again.
      this.recovered();
    }
    if (guarded?.length) {
      // Slots being moved: their rotations wait out the freeze without being tried every pass.
      const ids = new Set(guarded.map((p) => p.sessionId));
      this.holds.push({ holds: (id) => ids.has(id), until: now + HOLD_MS, down: false });
    }
    await this.ledger.forget(written);
    for (const p of written) this.metrics.flushLag.observe(Math.max(0, now - p.rotatedAt) / 1000);
    this.metrics.flushBatch.observe(written.length);
    return written.length;
  }

  private recovered(): void {
    this.lapsed = [];
    if (!this.degraded) return;
    this.degraded = false;
    this.logger.info('write-behind flush: every shard written again');
  }
}
