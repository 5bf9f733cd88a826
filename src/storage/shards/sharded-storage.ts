import type { Storage } from '../contract.js';
import { FannedMaintenance, FannedOutbox, FannedReplicationQueue } from './fanned-stores.js';
import { onEveryShard, Placement, type Shard } from './placement.js';
import { RoutedReplicaStore, RoutedRotationSink, RoutedSessionStore, RoutedUserStore } from './routed-stores.js';

/**
 * A region over several PostgreSQL databases, behind the same `Storage`
 * contract as one: the request path is routed by slot (placement.ts), the
 * background work runs on every shard (fanned-stores.ts), and what exists
 * once per region (signing keys, the username directory) is on the main
 * shard, the first. Each shard is migrated on its own, under its own lock.
 */
export function shardedStorage(shards: readonly Shard<Storage>[]): Storage {
  if (shards.length === 1) return (shards[0] as Shard<Storage>).store;
  const at = new Placement(shards);
  const main = at.main;
  const each = <K extends keyof Storage>(key: K): Shard<Storage[K]>[] => shards.map((s) => ({ name: s.name, store: s.store[key] }));
  const maintenance = new FannedMaintenance(
    shards.map(({ name, store: { maintenance: m, stats } }) => ({
      name,
      store: { cleanup: (input) => m.cleanup(input), activeSessions: (now, idle) => stats.activeSessions(now, idle) },
    })),
  );
  return {
    kind: 'postgres',
    shardNames: shards.map((s) => s.name),
    users: new RoutedUserStore(new Placement(each('users'))),
    keys: main.keys,
    usernameClaims: main.usernameClaims,
    outbox: new FannedOutbox(each('outbox')),
    replication: new FannedReplicationQueue(each('replication')),
    replicas: new RoutedReplicaStore(new Placement(each('replicas'))),
    rotations: new RoutedRotationSink(new Placement(each('rotations'))),
    maintenance,
    stats: maintenance,
    sessions: (onChange) => new RoutedSessionStore(new Placement(shards.map((s) => ({ name: s.name, store: s.store.sessions(onChange) })))),
    async migrate(log) {
      const applied: string[] = [];
      // One after another: each takes its own database's lock, and a failure stops before the next.
      for (const s of shards) for (const name of await s.store.migrate(log)) applied.push(`${s.name}:${name}`);
      return applied;
    },
    async unreachable(ms) {
      return (await onEveryShard(shards, async (s, name) => ((await s.unreachable(ms)).length ? [name] : []))).flat();
    },
    poolStats() {
      const all = shards.map((s) => s.store.poolStats());
      return { max: all.reduce((a, p) => a + p.max, 0), inUse: all.reduce((a, p) => a + p.inUse, 0), waiting: all.reduce((a, p) => a + p.waiting, 0) };
    },
    observe(observer) {
      for (const s of shards) s.store.observe((e) => observer({ ...e, shard: s.name }));
    },
    async close() {
      await onEveryShard(shards, (s) => s.close());
    },
  };
}
