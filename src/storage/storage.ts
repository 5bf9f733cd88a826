import type { UsernameClaims } from '../auth/regions.js';
import type { KeyStore, SessionStore, UserStore } from '../auth/stores.js';
import type { Maintenance, OutboxStore, ReplicaStore, ReplicationQueue, RotationSink, Stats } from './background.js';
import type { Db, PoolStats, QueryObserver } from './postgres/db.js';
import { openDatabase, type OpenOptions } from './postgres/drivers.js';
import { PgMaintenance } from './postgres/maintenance.js';
import { migrate, type MigrationLog } from './postgres/migrate.js';
import { PgOutbox } from './postgres/outbox.js';
import { PgReplicaStore } from './postgres/replicas.js';
import { PgReplicationQueue } from './postgres/replication-queue.js';
import { PgRotationSink } from './postgres/rotations.js';
import { PgKeyStore, PgSessionStore, PgUserStore } from './postgres/repositories.js';
import { SQL } from './postgres/sql.js';
import { PgUsernameClaims } from './postgres/username-claims.js';
import type { ChangeListener } from './session-state.js';
import { within } from '../util/within.js';

export type { PoolStats, QueryObserver };
export { checkpoint, failoverNodes, provisionDatabases, tuneFailoverMonitor } from './postgres/provision.js';

/** The session store the services run on, and what replication applies to it besides. */
export interface SessionStorage extends SessionStore {
  /**
   * Another region ended every session of the user: ends this region's sessions of the user started
   * at or before `before` (but `kept`), each revocation replicated as any made here; their ids.
   */
  endSessionsStartedBefore(userId: string, before: number, kept: string | null, now: number): Promise<string[]>;
}

/**
 * A region's database, as the rest of the code sees it: one object per
 * concern, each behind its contract. The only way in; nothing outside
 * `src/storage/` holds the database handle.
 */
export interface Storage {
  readonly kind: 'postgres' | 'pglite';
  readonly users: UserStore;
  readonly keys: KeyStore;
  /** The username directory's table (used only in the directory region). */
  readonly usernameClaims: UsernameClaims;
  readonly outbox: OutboxStore;
  readonly replication: ReplicationQueue;
  readonly replicas: ReplicaStore;
  /** Where the worker flushes write-behind rotations. */
  readonly rotations: RotationSink;
  readonly maintenance: Maintenance;
  readonly stats: Stats;
  /** A session store that tells `onChange` of every committed change (the cache's write-through). */
  sessions(onChange?: ChangeListener): SessionStorage;
  /** Applies pending migrations under the advisory lock, telling `log` what an operator must know; the names applied. */
  migrate(log?: MigrationLog): Promise<string[]>;
  /** True when the database answers within `ms`. */
  ping(ms: number): Promise<boolean>;
  poolStats(): PoolStats;
  /** Adds a statement observer (metrics, counting in tests). */
  observe(observer: QueryObserver): void;
  close(): Promise<void>;
}

export interface StorageOptions {
  /**
   * A region of a topology: logins, rotations and new users are outbox events
   * too, for the other regions (a region on its own records revocations only).
   */
  replicate: boolean;
}

/** Opens the configured database (PostgreSQL, or embedded PGlite) and the stores over it. */
export async function openStorage(open: OpenOptions, opts: StorageOptions): Promise<Storage> {
  return storageOn(await openDatabase(open), opts, true);
}

/** The stores over an open database; `owned`: close() closes it too (tests share one per file). */
export function storageOn(db: Db, opts: StorageOptions, owned = false): Storage {
  const maintenance = new PgMaintenance(db);
  return {
    kind: db.kind,
    users: new PgUserStore(db, opts.replicate),
    keys: new PgKeyStore(db),
    usernameClaims: new PgUsernameClaims(db),
    outbox: new PgOutbox(db),
    replication: new PgReplicationQueue(db),
    replicas: new PgReplicaStore(db),
    rotations: new PgRotationSink(db, opts.replicate),
    maintenance,
    stats: maintenance,
    sessions: (onChange) => new PgSessionStore(db, { onChange, replicate: opts.replicate }),
    migrate: (log) => migrate(db, { log }),
    ping: (ms) => within(db.query(SQL.ping), ms),
    poolStats: () => db.poolStats(),
    observe: (o) => db.observe(o),
    close: async () => {
      if (owned) await db.close();
    },
  };
}
