import type { Logger } from 'pino';
import type { ReplicationFanout } from '../jobs/outbox-relay.js';
import type { ReplicationQueue } from '../storage/background.js';
import type { ReplicationEvent } from '../storage/replication-records.js';
import { PollLoop } from '../util/poll-loop.js';
import type { PeerClient } from './peer-client.js';
import { targetsOf } from './targets.js';
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

/**
 * Delivers this region's changes to one other region: a batch leaves the
 * queue only once the target has applied it (see ReplicationQueue.deliver),
 * so a target that is down, slow or answers with an error gets the batch
 * again (its apply is idempotent), in the order the changes were queued.
 */
export class ReplicationSender {
  private readonly loop: PollLoop;

  constructor(private readonly d: { queue: ReplicationQueue; client: PeerClient; self: string; target: string; logger: Logger }) {
    this.loop = new PollLoop(() => this.runOnce(), {
      ...SENDER_POLL,
      onFailing: (err) =>
        d.logger.warn({ target: d.target, err: err instanceof Error ? err.message : String(err) }, 'replication to region failing; changes stay queued'),
      onRecovered: () => d.logger.info({ target: d.target }, 'replication to region working again'),
    });
  }

  get target(): string {
    return this.d.target;
  }

  /** Sends one batch; resolves with how many changes the target applied. Throws when it did not. */
  async runOnce(): Promise<number> {
    const { queue, client, self, target } = this.d;
    return queue.deliver(target, SENDER_POLL.batch, async (events) => {
      const body: ReplicationBatch = { origin: self, events };
      const res = await client.request(target, REPLICATION_PATH, { operation: 'replicate', body, internal: true });
      if (res.status !== 200) throw client.answerError(target, res);
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
  queue: ReplicationQueue;
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
    .map((r) => new ReplicationSender({ queue: d.queue, client: d.client, self: d.self, target: r.id, logger: d.logger }));
  return {
    senders,
    targets: (change) => targetsOf(change.kind, change.session_id, d.self, d.topology, change.user_id),
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
