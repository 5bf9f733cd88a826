/**
 * The storage contracts of the background work: the outbox relay, the
 * replication senders and their receivers, backfill, cleanup and the gauges.
 * Each is a few calls that say what is wanted, not how it is stored;
 * `src/storage/postgres/` implements them, and nothing outside `src/storage/`
 * sees a database handle or a statement. Times are epoch milliseconds.
 */
import type { ChangeRow, ReplicatedFamily, ReplicationEvent } from './replication-records.js';

/** The regions one committed change goes to (see targetsOf in src/regions/replication-events.ts). */
export type TargetsOf = (change: ChangeRow) => readonly string[];

/** A revocation waiting for its cache-sync job. */
export interface PendingRevocation {
  id: string;
  sessionId: string;
  /** The family's generation when it was revoked. */
  generation: number;
}

export interface OutboxStore {
  /**
   * Claims up to `batch` changes not yet fanned out, queues each for the
   * regions `targets` names (none without a topology) and marks them sent, in
   * one transaction; resolves with how many it moved.
   */
  fanOut(batch: number, targets: TargetsOf | undefined, now: number): Promise<number>;
  /** The oldest revocations whose cache-sync job is not queued yet. */
  unsyncedRevocations(batch: number): Promise<PendingRevocation[]>;
  markSynced(ids: readonly string[], now: number): Promise<void>;
  /** Changes not fanned out yet plus revocations not synced yet (a gauge). */
  backlog(): Promise<number>;
}

export interface ReplicationQueue {
  /**
   * Delivers the oldest changes queued for `target`, built from the current
   * rows: `send` is called with them while they stay claimed, and they are
   * removed only once it resolved. One delivery per target at a time; resolves
   * with 0 when another process holds the target or nothing is queued.
   */
  deliver(target: string, batch: number, send: (events: ReplicationEvent[]) => Promise<void>): Promise<number>;
  /** Changes queued per target region (a gauge). */
  backlog(): Promise<Map<string, number>>;
  /** Queues this region's current state for `target` (see src/regions/backfill.ts). */
  backfill(target: string, what: BackfillScope, now: number): Promise<BackfillCounts>;
}

export interface BackfillScope {
  users: boolean;
  families: boolean;
  /** Revocations made since then travel. */
  revocationsSince: number;
  /** This region: only its own users and families are queued. */
  self: string;
}

export interface BackfillCounts {
  users: number;
  families: number;
  revocations: number;
}

/** The generation this region holds of a session another region has just rotated, and when it was minted here. */
export interface GenerationHere {
  generation: number;
  rotatedAt: number;
  /** When the generation before was minted here; null where unknown. */
  previousRotatedAt: number | null;
}

/** Decides from a session as another region sends it and as it is held here whether one generation was spent twice. */
export type DoubleSpendRule = (there: ReplicatedFamily, here: GenerationHere) => boolean;

export interface ReplicaStore {
  /**
   * Merges one event from another region into this region's state, moving
   * only forward, in one transaction; `doubleSpend` is asked, before the
   * merge, for every session the event carries that is also held here.
   */
  apply(event: ReplicationEvent, doubleSpend: DoubleSpendRule, now: number): Promise<{ doubleSpend: boolean }>;
}

/** A rotation made in the region's Redis (write-behind mode) and owed to PostgreSQL. */
export interface PendingRotation {
  sessionId: string;
  generation: number;
  rotatedAt: number;
  /** The pending entry as read: it is forgotten after the flush only if still the same. */
  token: string;
}

export interface PendingBatch {
  rotations: PendingRotation[];
  /** Every pending rotation was read in this pass: none is left that it did not see (taken or passed over). */
  complete: boolean;
}

/** Where write-behind rotations wait for the flush. */
export interface RotationLedger {
  /**
   * About `batch` pending rotations (a scan step may bring a few more), one
   * per session, in no particular order; those `held` names are passed over
   * (their shard is down: they would crowd out the rest).
   */
  pending(batch: number, held?: (sessionId: string) => boolean): Promise<PendingBatch>;
  /** Forgets flushed rotations, each unless its session rotated again meanwhile. */
  forget(flushed: readonly PendingRotation[]): Promise<void>;
  /** How many rotations are pending (a gauge). */
  count(): Promise<number>;
}

/** PostgreSQL's side of the flush. */
export interface RotationSink {
  /**
   * Writes the rotations, each merged by maximum of (generation, rotated at)
   * and never into a revoked session, so a batch applied twice, late or out
   * of order changes nothing wrongly; in a topology each one applied is an
   * outbox event. Resolves with how many moved a session forward, and the
   * rotations it wrote: all of them, but for those of a shard that is down
   * (they stay pending, for a later flush).
   */
  apply(rotations: readonly PendingRotation[]): Promise<FlushResult>;
}

export interface FlushResult {
  moved: number;
  written: readonly PendingRotation[];
  /** Rotations of slots the shard guards (being moved, or moved away): not written; the caller reads the map again and routes them anew. */
  guarded?: readonly PendingRotation[];
  /** When a shard failed: the first error, and whether a session is on a shard that failed (the flush holds those back a while). */
  failed?: { error: unknown; holds: (sessionId: string) => boolean };
}

export interface CleanupInput {
  now: number;
  /** Revoked families are kept until then (now - longest access-token lifetime): starting servers load revocations from them. */
  keepRevokedSince: number;
  /**
   * Revocations received for families this region does not hold are kept until then (now - the
   * absolute session lifetime): the family's own events may still arrive late, and must find it revoked.
   */
  keepForeignRevocationsSince: number;
}

export interface CleanupResult {
  tokens: number;
  sessions: number;
  outbox: number;
  /** Revocations received from other regions. */
  revocations: number;
}

export interface Maintenance {
  /** Deletes what has expired, in small batches; idempotent (see src/jobs/cleanup.ts). */
  cleanup(input: CleanupInput): Promise<CleanupResult>;
}

export interface Stats {
  /** Sessions that can still be refreshed: not revoked, not expired, used within the idle window. */
  activeSessions(now: number, idleSeconds: number): Promise<number>;
}
