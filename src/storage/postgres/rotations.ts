import type { FlushResult, PendingRotation, RotationSink } from '../background.js';
import { type Db, isSlotMoving } from './db.js';
import { SQL } from './sql.js';

/** How many times a flush is refused by a slot freeze (a move freezes slots one after another) before it fails. */
const MAX_ATTEMPTS = 4;

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
    const guarded = new Set<string>();
    let tried = rotations;
    let moved: Set<string>;
    for (let attempt = 1; ; attempt++) {
      try {
        moved = await this.write(tried);
        break;
      } catch (err) {
        // A slot being moved refuses the whole statement: the others' rotations go in without it (and
        // without the next one, should a move freeze another slot in between).
        if (!isSlotMoving(err) || attempt >= MAX_ATTEMPTS) throw err;
        for (const id of await this.guardedOf(tried)) guarded.add(id);
        tried = tried.filter((x) => !guarded.has(x.sessionId));
      }
    }
    // Each pending rotation normally moves its session on; only the others (revoked, already merged, gone)
    // are asked after: one of a slot that has moved away since (its rows gone) is owed to the new shard.
    if (this.sharded && moved.size < tried.length) for (const id of await this.guardedOf(tried.filter((x) => !moved.has(x.sessionId)))) guarded.add(id);
    if (guarded.size === 0) return { moved: moved.size, written: rotations };
    return {
      moved: moved.size,
      written: rotations.filter((x) => !guarded.has(x.sessionId)),
      guarded: rotations.filter((x) => guarded.has(x.sessionId)),
    };
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
