import type { BackfillCounts, BackfillScope, CleanupInput, CleanupResult, Maintenance, OutboxStore, ReplicationQueue, Stats } from '../background.js';
import { onEveryShard, type Shard, sum } from './placement.js';

/*
 * The background work that spans the shards: the gauges' sums, a backfill
 * and the cleanup, each run on all of them at once. The outbox relay and the
 * replication senders are not here: they run per shard, on loops of their
 * own, so one shard down holds back only its own backlog.
 */

/** The summed backlog; each shard's relay works on its own outbox (Storage.perShard). */
export class FannedOutbox implements Pick<OutboxStore, 'backlog'> {
  constructor(private readonly shards: readonly Shard<Pick<OutboxStore, 'backlog'>>[]) {}

  async backlog(): Promise<number> {
    return sum(await onEveryShard(this.shards, (s) => s.backlog()));
  }
}

/** The summed backlog and a backfill of every shard; each shard's senders deliver from its own queue (Storage.perShard). */
export class FannedReplicationQueue implements Pick<ReplicationQueue, 'backlog' | 'backfill'> {
  constructor(private readonly shards: readonly Shard<Pick<ReplicationQueue, 'backlog' | 'backfill'>>[]) {}

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
