import type { FlushResult, PendingRotation, RotationSink } from '../background.js';
import { type Db, isSlotMoving } from './db.js';
import { SQL } from './sql.js';

/** The flush of write-behind rotations into PostgreSQL (flush-rotations.sql). */
export class PgRotationSink implements RotationSink {
  private readonly sql: string;

  /**
   * `replicate`: each rotation applied is also an outbox event, for the other regions of a topology.
   * `sharded`: one of several databases, whose slots may move (a region of one never guards a slot).
   */
  constructor(
    private readonly db: Db,
    replicate: boolean,
    private readonly sharded: boolean,
  ) {
    this.sql = replicate ? SQL.flushRotationsInTopology : SQL.flushRotations;
  }

  async apply(rotations: readonly PendingRotation[]): Promise<FlushResult> {
    if (rotations.length === 0) return { moved: 0, written: rotations };
    let moved: Set<string>;
    let guarded: Set<string> | undefined;
    try {
      moved = await this.write(rotations);
    } catch (err) {
      // A slot being moved refuses the whole statement: the others' rotations go in without it.
      if (!isSlotMoving(err)) throw err;
      guarded = await this.guardedOf(rotations);
      moved = await this.write(rotations.filter((x) => !guarded?.has(x.sessionId)));
    }
    // Each pending rotation normally moves its session on; only the others (revoked, already merged, gone)
    // are asked after: one of a slot that has moved away is owed to the new shard, not written here.
    if (this.sharded && !guarded && moved.size < rotations.length) guarded = await this.guardedOf(rotations.filter((x) => !moved.has(x.sessionId)));
    if (!guarded?.size) return { moved: moved.size, written: rotations };
    const mine = guarded;
    return { moved: moved.size, written: rotations.filter((x) => !mine.has(x.sessionId)), guarded: rotations.filter((x) => mine.has(x.sessionId)) };
  }

  /** The ids of the sessions the rotations moved forward. */
  private async write(rotations: readonly PendingRotation[]): Promise<Set<string>> {
    if (rotations.length === 0) return new Set();
    const r = await this.db.query<{ id: string }>(this.sql, [
      rotations.map((x) => x.sessionId),
      rotations.map((x) => x.generation),
      rotations.map((x) => new Date(x.rotatedAt)),
    ]);
    return new Set(r.rows.map((row) => row.id));
  }

  private async guardedOf(rotations: readonly PendingRotation[]): Promise<Set<string>> {
    const r = await this.db.query<{ id: string }>(SQL.guardedRotations, [rotations.map((x) => x.sessionId)]);
    return new Set(r.rows.map((row) => row.id));
  }
}
