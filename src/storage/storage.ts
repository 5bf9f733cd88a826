import type { Db, PoolStats, QueryObserver } from './postgres/db.js';
import { openDatabase, type OpenOptions } from './postgres/drivers.js';
import { PgMaintenance } from './postgres/maintenance.js';
import { checkShardLayout } from './postgres/layout.js';
import { migrate } from './postgres/migrate.js';
import { PgOutbox } from './postgres/outbox.js';
import { PgReplicaStore } from './postgres/replicas.js';
import { PgReplicationQueue } from './postgres/replication-queue.js';
import { PgRotationSink } from './postgres/rotations.js';
import { PgKeyStore, PgSessionStore, PgUserStore } from './postgres/repositories.js';
import { SQL } from './postgres/sql.js';
import { PgUsernameClaims } from './postgres/username-claims.js';
import { within } from '../util/within.js';
import type { Storage, StorageOptions } from './contract.js';
import { ensureSlotMap } from './postgres/slot-map.js';
import { type OpenShard, shardedStorage } from './shards/sharded-storage.js';
import { type MoverOptions, SlotMover } from './shards/slot-mover.js';
export { type MoveReport, type MoveResult, SlotRefused } from './shards/slot-mover.js';

export type { PoolStats, QueryObserver };
export type { SessionStorage, Storage, StorageOptions } from './contract.js';
export { checkpoint, failoverNodes, provisionDatabases, tuneFailoverMonitor } from './postgres/provision.js';

/** The main database is called this; the others are named in MERIDIAN_SHARDS. */
export const MAIN_SHARD = 'main';

/**
 * Opens the configured database (PostgreSQL, or embedded PGlite) and the
 * stores over it; with `shards` (name and URL of each database after the
 * main one), the region over all of them.
 */
export async function openStorage(open: OpenOptions, opts: StorageOptions, shards: readonly ShardUrl[] = []): Promise<Storage> {
  if (shards.length === 0) return storageOn(await openDatabase(open), opts, true);
  if (!open.databaseUrl?.startsWith('postgres')) throw new Error('MERIDIAN_SHARDS needs DATABASE_URL to name the main PostgreSQL database');
  const opened: OpenShard[] = [];
  const all = [{ name: MAIN_SHARD, url: open.databaseUrl }, ...shards];
  const layout = all.map((s) => s.name);
  if (new Set(layout).size !== layout.length) throw new Error(`MERIDIAN_SHARDS names a shard twice (or names one ${MAIN_SHARD})`);
  try {
    for (const s of all) {
      const db = await openDatabase({ ...open, databaseUrl: s.url });
      opened.push({ name: s.name, db, store: storageOn(db, opts, true, { name: s.name, layout }) });
    }
  } catch (err) {
    await Promise.allSettled(opened.map((s) => s.store.close()));
    throw err;
  }
  return shardedStorage(opened);
}

/**
 * The region's databases for `meridian shards` (an operator command, not a
 * server): the slot map and the mover over them.
 */
export async function openSlotMover(open: OpenOptions, shards: readonly ShardUrl[], o: MoverOptions): Promise<{ mover: SlotMover; close(): Promise<void> }> {
  if (!open.databaseUrl?.startsWith('postgres')) throw new Error('meridian shards needs DATABASE_URL to name the main PostgreSQL database');
  const dbs = new Map<string, Db>();
  try {
    for (const s of [{ name: MAIN_SHARD, url: open.databaseUrl }, ...shards]) dbs.set(s.name, await openDatabase({ ...open, databaseUrl: s.url }));
  } catch (err) {
    await Promise.allSettled([...dbs.values()].map((d) => d.close()));
    throw err;
  }
  return {
    mover: new SlotMover(dbs, dbs.get(MAIN_SHARD) as Db, o),
    close: async () => {
      await Promise.allSettled([...dbs.values()].map((d) => d.close()));
    },
  };
}

export interface ShardPlace {
  name: string;
  layout: readonly string[];
}

export interface ShardUrl {
  name: string;
  url: string;
}

/** MERIDIAN_SHARDS: `name=url` pairs separated by spaces (a URL may hold commas: several hosts). */
export function parseShards(text: string | undefined): ShardUrl[] {
  if (!text?.trim()) return [];
  return text
    .trim()
    .split(/\s+/)
    .map((pair) => {
      const eq = pair.indexOf('=');
      return { name: pair.slice(0, eq), url: pair.slice(eq + 1) };
    });
}

/**
 * The stores over an open database; `owned`: close() closes it too (tests
 * share one per file); `place`: which shard of the region this is, and the
 * region's databases, which it records and checks when migrated (the main
 * shard also writes the slot map on the first start).
 */
export function storageOn(db: Db, opts: StorageOptions, owned = false, place: ShardPlace = { name: MAIN_SHARD, layout: [MAIN_SHARD] }): Storage {
  const maintenance = new PgMaintenance(db);
  const outbox = new PgOutbox(db);
  const replication = new PgReplicationQueue(db);
  return {
    kind: db.kind,
    shardNames: [MAIN_SHARD],
    users: new PgUserStore(db, opts.replicate),
    keys: new PgKeyStore(db),
    usernameClaims: new PgUsernameClaims(db),
    outbox,
    replication,
    perShard: [{ shard: place.name, outbox, replication }],
    replicas: new PgReplicaStore(db),
    rotations: new PgRotationSink(db, opts.replicate, place.layout.length > 1),
    maintenance,
    stats: maintenance,
    sessions: (onChange) => new PgSessionStore(db, { onChange, replicate: opts.replicate }),
    async migrate(log) {
      const applied = await migrate(db, { log });
      // The map before the layout check appends new shards: a region keeps the split it began with.
      if (place.name === MAIN_SHARD) await ensureSlotMap(db, place.layout);
      await checkShardLayout(db, place.layout, place.name);
      return applied;
    },
    unreachable: async (ms) => ((await within(db.query(SQL.ping), ms)) ? [] : [MAIN_SHARD]),
    poolStats: () => db.poolStats(),
    observe: (o) => db.observe(o),
    close: async () => {
      if (owned) await db.close();
    },
  };
}
