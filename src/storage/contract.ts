import type { UsernameClaims } from '../auth/regions.js';
import type { KeyStore, SessionStore, UserStore } from '../auth/stores.js';
import type { Maintenance, OutboxStore, ReplicaStore, ReplicationQueue, RotationSink, Stats } from './background.js';
import type { MigrationLog } from './postgres/migrate.js';
import type { PoolStats, QueryObserver } from './postgres/db.js';
import type { ChangeListener } from './session-state.js';

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
  /** The region's databases by name: `main`, then MERIDIAN_SHARDS in order (shards/placement.ts). */
  readonly shardNames: readonly string[];
  readonly users: UserStore;
  readonly keys: KeyStore;
  /** The username directory's table (used only in the directory region). */
  readonly usernameClaims: UsernameClaims;
  /** The outbox backlog over every database (a gauge); the relay works per database (`perShard`). */
  readonly outbox: Pick<OutboxStore, 'backlog'>;
  /** The replication backlog and the backfill over every database; senders work per database (`perShard`). */
  readonly replication: Pick<ReplicationQueue, 'backlog' | 'backfill'>;
  /**
   * Each database's outbox and replication queue, for a relay and senders of
   * its own: a shard that is down holds back and slows only its own loops.
   */
  readonly perShard: readonly ShardQueues[];
  readonly replicas: ReplicaStore;
  /** Where the worker flushes write-behind rotations. */
  readonly rotations: RotationSink;
  readonly maintenance: Maintenance;
  readonly stats: Stats;
  /** A session store that tells `onChange` of every committed change (the cache's write-through). */
  sessions(onChange?: ChangeListener): SessionStorage;
  /** Applies pending migrations under the advisory lock, telling `log` what an operator must know; the names applied. */
  migrate(log?: MigrationLog): Promise<string[]>;
  /** The shards that do not answer within `ms` (none: all is well). */
  unreachable(ms: number): Promise<string[]>;
  poolStats(): PoolStats;
  /** Adds a statement observer (metrics, counting in tests). */
  observe(observer: QueryObserver): void;
  close(): Promise<void>;
}

export interface ShardQueues {
  shard: string;
  outbox: OutboxStore;
  replication: ReplicationQueue;
}

export interface StorageOptions {
  /**
   * A region of a topology: logins, rotations and new users are outbox events
   * too, for the other regions (a region on its own records revocations only).
   */
  replicate: boolean;
}
