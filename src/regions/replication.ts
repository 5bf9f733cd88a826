import type { Logger } from 'pino';
import type { ReplicationFanout } from '../jobs/outbox-relay.js';
import type { Db, Queryable } from '../storage/postgres/db.js';
import { SQL } from '../storage/postgres/sql.js';
import { PollLoop } from '../util/poll-loop.js';
import type { PeerClient } from './peer-client.js';
import { buildEvent, type ChangeRow, type ReplicationEvent, targetsOf } from './replication-events.js';
import type { Topology } from './topology.js';

/**
 * How a sender polls. batch: changes per call to a region; each event is well under 2 KB, so a batch
 * stays far below the route's body limit. idleMs: how often an idle sender looks for work it was not
 * woken for (another worker's relay queued it). maxErrorPauseMs: the longest pause between attempts at
 * a region that does not answer, which is also how long a healed link can wait before its backlog
 * moves. A revocation must reach every region within 1 s of the link healing; 250 ms leaves the rest of
 * that second for the call and the apply. Trying that often is cheap: an attempt at a dead region is
 * one claim of its queued rows and one request that fails at connect.
 */
export const SENDER_POLL = { batch: 100, idleMs: 100, maxErrorPauseMs: 250 } as const;

export const REPLICATION_PATH = '/internal/v1/replication';

/** What POST /internal/v1/replication takes. */
export interface ReplicationBatch {
  origin: string;
  events: ReplicationEvent[];
}

interface QueuedRow extends ChangeRow {
  id: string;
}

/**
 * Delivers this region's changes to one other region. A batch is claimed,
 * built from the current rows, sent, and deleted from the queue only once
 * the target has applied it, all in one transaction: a target that is down,
 * slow or answers with an error leaves the batch queued, and it is sent again
 * (the target's apply is idempotent). One sender per target at a time (an
 * advisory lock), so a region receives another's changes in the order they
 * were queued. The transaction stays open during the call, which the
 * region timeout bounds; it locks only the queue rows it sends.
 */
export class ReplicationSender {
  private readonly loop: PollLoop;

  constructor(
    private readonly d: { db: Db; client: PeerClient; self: string; target: string; logger: Logger },
  ) {
    this.loop = new PollLoop(() => this.runOnce(), {
      ...SENDER_POLL,
      onFailing: (err) => d.logger.warn({ target: d.target, err: err instanceof Error ? err.message : String(err) }, 'replication to region failing; changes stay queued'),
      onRecovered: () => d.logger.info({ target: d.target }, 'replication to region working again'),
    });
  }

  get target(): string {
    return this.d.target;
  }

  /** Sends one batch; resolves with how many changes the target applied. Throws when it did not. */
  async runOnce(): Promise<number> {
    const { db, client, self, target } = this.d;
    return db.transaction(async (tx) => {
      const lock = await tx.query<{ locked: boolean }>(SQL.lockReplicationTarget, [target]);
      if (!lock.rows[0]?.locked) return 0;
      const { rows } = await tx.query<QueuedRow>(SQL.claimReplication, [target, SENDER_POLL.batch]);
      if (rows.length === 0) return 0;
      const events: ReplicationEvent[] = [];
      for (const r of rows) events.push(await buildEvent(tx, r.id, r));
      const body: ReplicationBatch = { origin: self, events };
      const res = await client.request(target, REPLICATION_PATH, { operation: 'replicate', body, internal: true });
      if (res.status !== 200) throw client.answerError(target, res);
      await tx.query(SQL.deleteReplication, [rows.map((r) => r.id)]);
      return rows.length;
    });
  }

  start(): void {
    this.loop.start();
  }

  wake(): void {
    this.loop.wake();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }
}

export interface ReplicationDeps {
  db: Db;
  client: PeerClient;
  topology: Topology;
  self: string;
  logger: Logger;
}

/** The sending side of replication, in whatever process runs the outbox relay. */
export interface Replication extends ReplicationFanout {
  senders: ReplicationSender[];
  start(): void;
  stop(): Promise<void>;
}

/** A sender per other region, and the fan-out the outbox relay calls. */
export function createReplication(d: ReplicationDeps): Replication {
  const senders = d.topology.regions
    .filter((r) => r.id !== d.self)
    .map((r) => new ReplicationSender({ db: d.db, client: d.client, self: d.self, target: r.id, logger: d.logger }));
  return {
    senders,
    async enqueue(tx: Queryable, rows: ChangeRow[]) {
      const cols: [string[], string[], (string | null)[], (string | null)[], string[], Date[]] = [[], [], [], [], [], []];
      for (const r of rows) {
        for (const target of targetsOf(r.kind, r.session_id, d.self, d.topology)) {
          cols[0].push(target);
          cols[1].push(r.kind);
          cols[2].push(r.session_id);
          cols[3].push(r.user_id);
          cols[4].push(r.token_hashes.join(','));
          cols[5].push(new Date(r.created_at));
        }
      }
      if (cols[0].length) await tx.query(SQL.enqueueReplication, cols);
    },
    queued: () => {
      for (const s of senders) s.wake();
    },
    start: () => {
      for (const s of senders) s.start();
    },
    stop: async () => {
      await Promise.all(senders.map((s) => s.stop()));
    },
  };
}
