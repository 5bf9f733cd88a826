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
    const r = await this.db.query(this.sql, [
      rotations.map((x) => x.sessionId),
      rotations.map((x) => x.generation),
      rotations.map((x) => new Date(x.rotatedAt)),
    ]);
    return { moved: r.rows.length, written: rotations };
  }
}
