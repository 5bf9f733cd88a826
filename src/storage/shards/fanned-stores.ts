import type { BackfillCounts, BackfillScope, CleanupInput, CleanupResult, Maintenance, OutboxStore, ReplicationQueue, Stats } from '../background.js';
import { fromShardsUp, onEveryShard, type Shard, sum } from './placement.js';

/*
 * The background work that spans the shards: the gauges' sums (each shard's
 * last answer), a backfill and the cleanup, each run on all of them at once.
 * The outbox relay and the replication senders are not here: they run per
 * shard, on loops of their own, so one shard down holds back only its own
 * backlog.
 */

/**
 * A gauge's reading over the shards: each shard's last answer, so one that
 * is down leaves its own part as last read while the others' stay current,
 * rather than the whole gauge going stale. Fails only when none answers.
 */
class LastKnown<T, R> {
  private readonly last = new Map<number, R>();

  constructor(private readonly shards: readonly Shard<T>[]) {}

  async read(each: (store: T) => Promise<R>): Promise<R[]> {
    const { values, failed } = await fromShardsUp(this.shards, async (store, _name, i) => [i, await each(store)] as const);
    if (values.length === 0 && failed[0]) throw failed[0].error;
    for (const [i, v] of values) this.last.set(i, v);
    return [...this.last.values()];
  }
}

/** The summed backlog; each shard's relay works on its own outbox (Storage.perShard). */
export class FannedOutbox implements Pick<OutboxStore, 'backlog'> {
  private readonly backlogs: LastKnown<Pick<OutboxStore, 'backlog'>, number>;

  constructor(shards: readonly Shard<Pick<OutboxStore, 'backlog'>>[]) {
    this.backlogs = new LastKnown(shards);
  }

  async backlog(): Promise<number> {
    return sum(await this.backlogs.read((s) => s.backlog()));
  }
}

/** The summed backlog and a backfill of every shard; each shard's senders deliver from its own queue (Storage.perShard). */
export class FannedReplicationQueue implements Pick<ReplicationQueue, 'backlog' | 'backfill'> {
  private readonly backlogs: LastKnown<Pick<ReplicationQueue, 'backlog' | 'backfill'>, Map<string, number>>;

  constructor(private readonly shards: readonly Shard<Pick<ReplicationQueue, 'backlog' | 'backfill'>>[]) {
    this.backlogs = new LastKnown(shards);
  }

  async backlog(): Promise<Map<string, number>> {
    const all = new Map<string, number>();
    for (const m of await this.backlogs.read((s) => s.backlog())) {
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
  private readonly active: LastKnown<Maintenance & Stats, number>;

  constructor(private readonly shards: readonly Shard<Maintenance & Stats>[]) {
    this.active = new LastKnown(shards);
  }

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
    return sum(await this.active.read((s) => s.activeSessions(now, idleSeconds)));
  }
}
