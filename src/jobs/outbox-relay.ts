import type { Logger } from 'pino';
import type { OutboxStore, TargetsOf } from '../storage/background.js';
import { QUEUES } from '../storage/redis/keys.js';
import { PollLoop } from '../util/poll-loop.js';
import type { Clock } from '../util/runtime.js';
import type { SyncJob } from './cache-sync.js';
import type { WorkQueue } from './queue.js';

const BATCH = 200;
/** Pause between scans when the outbox is empty; a full batch is followed at once by the next. */
const IDLE_MS = 200;
const MAX_ERROR_PAUSE_MS = 5000;

/** Where the relay hands changes bound for other regions (src/regions/replication.ts). */
export interface ReplicationFanout {
  /** The regions each change goes to. */
  targets: TargetsOf;
  /** Called once changes were queued for other regions: there is something to send. */
  queued(): void;
}

/**
 * Moves committed outbox rows on, along two paths that never wait for each
 * other:
 *
 * - the fan-out: in a topology each row is copied to the replication queue
 *   of every region it goes to; then it is marked sent. One transaction, in
 *   PostgreSQL alone, so replication to other regions goes on while this
 *   region's Redis is down;
 * - the cache sync: each revocation becomes a cache-sync job (BullMQ, or the
 *   in-process queue), then is marked synced. The Redis call is made outside
 *   any transaction; a relay that dies between the two queues the job again
 *   (the job id is the row id, tagged with the shard past the first, so
 *   BullMQ drops a repeat still queued, and the job is idempotent for the rest).
 *
 * Each path is its own loop, with its own back-off while it fails.
 */
export class OutboxRelay {
  private readonly fanoutLoop: PollLoop;
  private readonly syncLoop: PollLoop;

  constructor(
    private readonly outbox: OutboxStore,
    private readonly queue: WorkQueue,
    private readonly clock: Clock,
    private readonly logger: Logger,
    /** Regions of a topology: each change is also queued for the regions it goes to, in the same transaction. */
    private readonly replication?: ReplicationFanout,
    /**
     * Row ids are per database, and every shard's relay queues into the region's one sync queue: a
     * shard other than the first tags its job ids with its name (the first keeps the plain ids).
     */
    private readonly jobTag = '',
  ) {
    const loop = (step: () => Promise<number>, what: string) =>
      new PollLoop(step, {
        idleMs: IDLE_MS,
        maxErrorPauseMs: MAX_ERROR_PAUSE_MS,
        batch: BATCH,
        onFailing: (err) =>
          this.logger.warn({ err: err instanceof Error ? err.message : String(err) }, `outbox ${what} failed; rows stay pending and are retried`),
        onRecovered: () => this.logger.info(`outbox ${what} working again`),
      });
    this.fanoutLoop = loop(() => this.fanOut(), 'fan-out');
    this.syncLoop = loop(() => this.syncRevocations(), 'cache sync');
  }

  /** Runs each path once; returns how many rows moved in all. */
  async runOnce(): Promise<number> {
    return (await this.fanOut()) + (await this.syncRevocations());
  }

  /** Marks one batch sent, having queued it for the other regions in the same transaction. */
  async fanOut(): Promise<number> {
    const moved = await this.outbox.fanOut(BATCH, this.replication?.targets, this.clock.now());
    if (moved > 0) this.replication?.queued();
    return moved;
  }

  /** Queues the cache-sync job of one batch of revocations, then marks them synced. */
  async syncRevocations(): Promise<number> {
    const rows = await this.outbox.unsyncedRevocations(BATCH);
    if (rows.length === 0) return 0;
    await this.queue.add(
      rows.map((r) => ({
        name: QUEUES.sync,
        id: `outbox-${this.jobTag}${r.id}`,
        // kind and tokenHashes are what workers of the previous release read.
        data: { outboxId: r.id, sessionId: r.sessionId, generation: r.generation, kind: 'revoked', tokenHashes: [] } satisfies SyncJob,
      })),
    );
    await this.outbox.markSynced(
      rows.map((r) => r.id),
      this.clock.now(),
    );
    return rows.length;
  }

  start(): void {
    this.fanoutLoop.start();
    this.syncLoop.start();
  }

  /** Finishes the batches in hand, then stops. */
  async stop(): Promise<void> {
    await Promise.all([this.fanoutLoop.stop(), this.syncLoop.stop()]);
  }
}
