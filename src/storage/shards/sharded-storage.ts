import type { Storage } from '../contract.js';
import type { Db } from '../postgres/db.js';
import { readSlotMap, readSlotMapVersion, slotGuarded } from '../postgres/slot-map.js';
import { FannedMaintenance, FannedOutbox, FannedReplicationQueue } from './fanned-stores.js';
import { onEveryShard, Placement, type Shard, SlotMap } from './placement.js';
import { RoutedReplicaStore, RoutedRotationSink, RoutedSessionStore, RoutedUserStore } from './routed-stores.js';

/** How often a process looks whether the slot map changed (a slot move waits several of these before deleting behind). */
export const SLOT_MAP_POLL_MS = 1000;

export interface OpenShard extends Shard<Storage> {
  db: Db;
}

/**
 * A region over several PostgreSQL databases, behind the same `Storage`
 * contract as one: the request path is routed by slot (placement.ts), the
 * background work runs on every shard (fanned-stores.ts), and what exists
 * once per region (signing keys, the username directory, the slot map) is
 * on the main shard, the first. Each shard is migrated on its own, under
 * its own lock; the slot map is read once all are, and polled after.
 */
export function shardedStorage(shards: readonly OpenShard[]): Storage {
  if (shards.length === 1) return (shards[0] as OpenShard).store;
  const main = shards[0] as OpenShard;
  const map = new SlotMap(shards.map((s) => s.name));
  let reading: Promise<void> | undefined;
  // One read at a time: a burst of refused writes during a move shares one.
  map.reload = () =>
    (reading ??= readSlotMap(main.db)
      .then((m) => map.assign(m.version, m.shards))
      .finally(() => (reading = undefined)));
  map.guarded = (index, slot) => slotGuarded((shards[index] as OpenShard).db, slot);
  map.refresh = async () => {
    if ((await readSlotMapVersion(main.db)) !== map.version) await map.reload();
  };
  let poll: NodeJS.Timeout | undefined;
  const place = <T>(store: (s: Storage) => T) =>
    new Placement(
      map,
      shards.map((s) => ({ name: s.name, store: store(s.store) })),
    );
  const each = <K extends keyof Storage>(key: K): Shard<Storage[K]>[] => shards.map((s) => ({ name: s.name, store: s.store[key] }));
  const maintenance = new FannedMaintenance(
    shards.map(({ name, store: { maintenance: m, stats } }) => ({
      name,
      store: { cleanup: (input) => m.cleanup(input), activeSessions: (now, idle) => stats.activeSessions(now, idle) },
    })),
  );
  return {
    kind: 'postgres',
    shardNames: map.names,
    users: new RoutedUserStore(place((s) => s.users)),
    keys: main.store.keys,
    usernameClaims: main.store.usernameClaims,
    outbox: new FannedOutbox(each('outbox')),
    replication: new FannedReplicationQueue(each('replication')),
    perShard: shards.flatMap((s) => s.store.perShard),
    replicas: new RoutedReplicaStore(place((s) => s.replicas)),
    rotations: new RoutedRotationSink(place((s) => s.rotations)),
    maintenance,
    stats: maintenance,
    sessions: (onChange) => new RoutedSessionStore(place((s) => s.sessions(onChange))),
    async migrate(log) {
      const applied: string[] = [];
      // One after another: each takes its own database's lock, and a failure stops before the next.
      for (const s of shards) for (const name of await s.store.migrate(log)) applied.push(`${s.name}:${name}`);
      await map.reload();
      poll ??= setInterval(() => {
        // The main shard down: keep routing by the map held; a refused write reads it again.
        map.refresh().catch(() => {});
      }, SLOT_MAP_POLL_MS).unref();
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
      clearInterval(poll);
      await onEveryShard(shards, (s) => s.close());
    },
  };
}
