import type {
  BackfillCounts,
  BackfillScope,
  CleanupInput,
  CleanupResult,
  Maintenance,
  OutboxStore,
  PendingRevocation,
  ReplicationQueue,
  Stats,
  TargetsOf,
} from '../background.js';
import type { ReplicationEvent } from '../replication-records.js';
import { fromShardsUp, onEveryShard, type Shard, sum } from './placement.js';

/*
 * The background work, which is per database: every shard has its own outbox,
 * replication queue and expired rows, and each pass runs on all of them at
 * once. A shard that is down holds back only its own backlog.
 */

/** Outbox row ids are per database; a shard's are tagged with its position so markSynced finds them again. */
const tag = (i: number, id: string): string => `${i}/${id}`;

export class FannedOutbox implements OutboxStore {
  constructor(private readonly shards: readonly Shard<OutboxStore>[]) {}

  async fanOut(batch: number, targets: TargetsOf | undefined, now: number): Promise<number> {
    return sum(await onEveryShard(this.shards, (s) => s.fanOut(batch, targets, now)));
  }

  /** Those of the shards that answer: one shard down holds back only its own revocations' cache sync. */
  async unsyncedRevocations(batch: number): Promise<PendingRevocation[]> {
    const { values, failed } = await fromShardsUp(this.shards, async (s, _name, i) =>
      (await s.unsyncedRevocations(batch)).map((r) => ({ ...r, id: tag(i, r.id) })),
    );
    if (values.length === 0 && failed[0]) throw failed[0].error;
    return values.flat();
  }

  async markSynced(ids: readonly string[], now: number): Promise<void> {
    const byShard = this.shards.map((): string[] => []);
    for (const id of ids) {
      const slash = id.indexOf('/');
      byShard[Number(id.slice(0, slash))]?.push(id.slice(slash + 1));
    }
    await onEveryShard(this.shards, (s, _name, i) => {
      const mine = byShard[i] ?? [];
      return mine.length ? s.markSynced(mine, now) : Promise.resolve();
    });
  }

  async backlog(): Promise<number> {
    return sum(await onEveryShard(this.shards, (s) => s.backlog()));
  }
}

export class FannedReplicationQueue implements ReplicationQueue {
  constructor(private readonly shards: readonly Shard<ReplicationQueue>[]) {}

  async deliver(target: string, batch: number, send: (events: ReplicationEvent[]) => Promise<void>): Promise<number> {
    return sum(await onEveryShard(this.shards, (s) => s.deliver(target, batch, send)));
  }

  async backlog(): Promise<Map<string, number>> {
    const all = new Map<string, number>();
    for (const m of await onEveryShard(this.shards, (s) => s.backlog())) {
      for (const [target, n] of m) all.set(target, (all.get(target) ?? 0) + n);
    }
    return all;
  }

  async backfill(target: string, what: BackfillScope, now: number): Promise<BackfillCounts> {
    const counts = await onEveryShard(this.shards, (s) => s.backfill(target, what, now));
    return {
      users: sum(counts.map((c) => c.users)),
      families: sum(counts.map((c) => c.families)),
      revocations: sum(counts.map((c) => c.revocations)),
    };
  }
}

export class FannedMaintenance implements Maintenance, Stats {
  constructor(private readonly shards: readonly Shard<Maintenance & Stats>[]) {}

  async cleanup(input: CleanupInput): Promise<CleanupResult> {
    const results = await onEveryShard(this.shards, (s) => s.cleanup(input));
    return {
      tokens: sum(results.map((r) => r.tokens)),
      sessions: sum(results.map((r) => r.sessions)),
      outbox: sum(results.map((r) => r.outbox)),
      revocations: sum(results.map((r) => r.revocations)),
    };
  }

  async activeSessions(now: number, idleSeconds: number): Promise<number> {
    return sum(await onEveryShard(this.shards, (s) => s.activeSessions(now, idleSeconds)));
  }
}
