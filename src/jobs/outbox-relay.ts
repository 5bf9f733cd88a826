import type { Logger } from 'pino';
import type { Db } from '../storage/postgres/db.js';
import { SQL } from '../storage/postgres/sql.js';
import { QUEUES } from '../storage/redis/keys.js';
import type { Clock } from '../util/runtime.js';
import type { SyncEvent } from './cache-sync.js';
import type { WorkQueue } from './queue.js';

const BATCH = 200;
/** Pause between scans when the outbox is empty; a full batch is followed at once by the next. */
const IDLE_MS = 200;
const MAX_ERROR_PAUSE_MS = 5000;

interface OutboxRow {
  id: string;
  kind: SyncEvent['kind'];
  session_id: string;
  generation: number;
  token_hashes: string[];
}

/**
 * Moves committed outbox rows to the cache-sync queue. Each batch is claimed,
 * enqueued and marked sent in one transaction: a relay that dies before the
 * commit leaves its rows unsent, and they are relayed again (at least once;
 * the job id is the row id, so BullMQ drops a repeat that is still queued,
 * and the sync job is idempotent for the rest).
 */
export class OutboxRelay {
  private running: Promise<void> | undefined;
  private stopping = false;
  private wake: (() => void) | undefined;

  constructor(
    private readonly db: Db,
    private readonly queue: WorkQueue,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  /** Relays one batch; returns how many rows it moved. */
  async runOnce(): Promise<number> {
    return this.db.transaction(async (tx) => {
      const { rows } = await tx.query<OutboxRow>(SQL.claimOutbox, [BATCH]);
      if (rows.length === 0) return 0;
      await this.queue.add(
        rows.map((r) => ({
          name: QUEUES.sync,
          id: `outbox-${r.id}`,
          data: { outboxId: r.id, kind: r.kind, sessionId: r.session_id, generation: r.generation, tokenHashes: r.token_hashes } satisfies SyncEvent,
        })),
      );
      await tx.query(SQL.markOutboxSent, [rows.map((r) => r.id), new Date(this.clock.now())]);
      return rows.length;
    });
  }

  start(): void {
    this.running ??= this.loop();
  }

  /** Finishes the batch in hand, then stops. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.running;
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (!this.stopping) {
      let pause = IDLE_MS;
      try {
        const moved = await this.runOnce();
        if (failures > 0) this.logger.info('outbox relay working again');
        failures = 0;
        if (moved === BATCH) continue;
      } catch (err) {
        if (failures === 0) this.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'outbox relay failed; rows stay unsent and are retried');
        failures++;
        pause = Math.min(IDLE_MS * 2 ** failures, MAX_ERROR_PAUSE_MS);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, pause);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }
}
