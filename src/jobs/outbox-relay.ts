import type { Logger } from 'pino';
import type { ChangeRow } from '../regions/replication-events.js';
import type { Db, Queryable } from '../storage/postgres/db.js';
import { SQL } from '../storage/postgres/sql.js';
import { QUEUES } from '../storage/redis/keys.js';
import { PollLoop } from '../util/poll-loop.js';
import type { Clock } from '../util/runtime.js';
import type { SyncJob } from './cache-sync.js';
import type { WorkQueue } from './queue.js';

const BATCH = 200;
/** Pause between scans when the outbox is empty; a full batch is followed at once by the next. */
const IDLE_MS = 200;
const MAX_ERROR_PAUSE_MS = 5000;

interface OutboxRow extends ChangeRow {
  id: string;
  generation: number;
}

/** Where the relay hands changes bound for other regions (src/regions/replication.ts). */
export interface ReplicationFanout {
  /** Queues the rows for their target regions, inside the relay's transaction. */
  enqueue(tx: Queryable, rows: ChangeRow[]): Promise<void>;
  /** Called after the transaction committed: there is something to send. */
  queued(): void;
}

/**
 * Moves committed outbox rows to the cache-sync queue (revocations) and, in
 * a topology, to the replication queue of each region they go to. Each batch is claimed,
 * enqueued and marked sent in one transaction: a relay that dies before the
 * commit leaves its rows unsent, and they are relayed again (at least once;
 * the job id is the row id, so BullMQ drops a repeat that is still queued,
 * and the sync job is idempotent for the rest).
 */
export class OutboxRelay {
  private readonly loop: PollLoop;

  constructor(
    private readonly db: Db,
    private readonly queue: WorkQueue,
    private readonly clock: Clock,
    private readonly logger: Logger,
    /** Regions of a topology: each change is also queued for the regions it goes to, in the same transaction. */
    private readonly replication?: ReplicationFanout,
  ) {
    this.loop = new PollLoop(() => this.runOnce(), {
      idleMs: IDLE_MS,
      maxErrorPauseMs: MAX_ERROR_PAUSE_MS,
      batch: BATCH,
      onFailing: (err) => this.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'outbox relay failed; rows stay unsent and are retried'),
      onRecovered: () => this.logger.info('outbox relay working again'),
    });
  }

  /** Relays one batch; returns how many rows it moved. */
  async runOnce(): Promise<number> {
    const moved = await this.db.transaction(async (tx) => {
      const { rows } = await tx.query<OutboxRow>(SQL.claimOutbox, [BATCH]);
      if (rows.length === 0) return 0;
      // Only revocations are synced (see cache-sync.ts); the other rows are there for other regions.
      const revocations = rows.filter((r): r is OutboxRow & { session_id: string } => r.kind === 'revoked' && r.session_id !== null);
      await this.queue.add(
        revocations.map((r) => ({
          name: QUEUES.sync,
          id: `outbox-${r.id}`,
          data: { outboxId: r.id, sessionId: r.session_id, generation: r.generation, kind: 'revoked', tokenHashes: [] } satisfies SyncJob,
        })),
      );
      await this.replication?.enqueue(tx, rows);
      await tx.query(SQL.markOutboxSent, [rows.map((r) => r.id), new Date(this.clock.now())]);
      return rows.length;
    });
    if (moved > 0) this.replication?.queued();
    return moved;
  }

  start(): void {
    this.loop.start();
  }

  /** Finishes the batch in hand, then stops. */
  async stop(): Promise<void> {
    await this.loop.stop();
  }
}
