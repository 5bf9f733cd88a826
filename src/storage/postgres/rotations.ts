import type { FlushResult, PendingRotation, RotationSink } from '../background.js';
import type { Db } from './db.js';
import { SQL } from './sql.js';

/** The flush of write-behind rotations into PostgreSQL (flush-rotations.sql). */
export class PgRotationSink implements RotationSink {
  private readonly sql: string;

  /** `replicate`: each rotation applied is also an outbox event, for the other regions of a topology. */
  constructor(
    private readonly db: Db,
    replicate: boolean,
  ) {
    this.sql = replicate ? SQL.flushRotationsInTopology : SQL.flushRotations;
  }

  async apply(rotations: readonly PendingRotation[]): Promise<FlushResult> {
    if (rotations.length === 0) return { moved: 0, written: rotations };
    const r = await this.db.query<{ id: string }>(this.sql, [
      rotations.map((x) => x.sessionId),
      rotations.map((x) => x.generation),
      rotations.map((x) => new Date(x.rotatedAt)),
    ]);
    // Each pending rotation normally moves its session on; only the others (revoked, already merged, gone)
    // are asked after: one whose slot has moved away is not written here, but owed to the new shard.
    if (r.rows.length === rotations.length) return { moved: r.rows.length, written: rotations };
    const forward = new Set(r.rows.map((row) => row.id));
    const rest = rotations.filter((x) => !forward.has(x.sessionId)).map((x) => x.sessionId);
    const away = new Set((await this.db.query<{ id: string }>(SQL.rotationsMovedAway, [rest])).rows.map((row) => row.id));
    if (away.size === 0) return { moved: r.rows.length, written: rotations };
    return {
      moved: r.rows.length,
      written: rotations.filter((x) => !away.has(x.sessionId)),
      movedAway: rotations.filter((x) => away.has(x.sessionId)),
    };
  }
}
