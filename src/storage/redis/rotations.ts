import type { PendingRotation, RotationLedger } from '../background.js';
import type { RedisLink } from './connection.js';
import type { RedisKeys } from './keys.js';

export type RotateResult = 'rotated' | 'moved' | 'missing';

/** A write-behind rotation as the cache makes it. */
export interface CacheRotation {
  sessionId: string;
  /** The generation the decision read (the entry's version while live). */
  from: number;
  generation: number;
  /** The session's state after the rotation, as the cache entry's data. */
  data: string;
  ttlMs: number;
  now: number;
}

/**
 * Rotations made in the region's Redis (write-behind mode) and what is owed
 * to PostgreSQL of them: `rotate-session-2.lua` rotates a session entry and
 * notes the rotation in the pending hash in one step; the worker takes
 * pending rotations, writes them to PostgreSQL and forgets each one only if
 * it did not move on meanwhile (`forget-flushed-1.lua`).
 */
export class RedisRotations implements RotationLedger {
  constructor(
    private readonly link: RedisLink,
    private readonly keys: RedisKeys,
  ) {}

  async rotate(r: CacheRotation): Promise<RotateResult> {
    const k = this.keys;
    const n = await this.link.run((redis) =>
      redis.rotateSession(k.family(r.sessionId), k.pendingRotations, r.sessionId, r.from, r.generation, r.data, Math.ceil(r.ttlMs), r.now),
    );
    return n === 1 ? 'rotated' : n === 0 ? 'moved' : 'missing';
  }

  async pending(batch: number): Promise<PendingRotation[]> {
    // A random sample bounds each flush however large the backlog grew (PostgreSQL down for a while).
    const flat = (await this.link.run((redis) => redis.hrandfield(this.keys.pendingRotations, batch, 'WITHVALUES'))) as string[];
    const out: PendingRotation[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const [gen, at] = (flat[i + 1] as string).split(':');
      const generation = Number(gen);
      const rotatedAt = Number(at);
      if (Number.isInteger(generation) && Number.isFinite(rotatedAt))
        out.push({ sessionId: flat[i] as string, generation, rotatedAt, token: flat[i + 1] as string });
    }
    return out;
  }

  async forget(flushed: readonly PendingRotation[]): Promise<void> {
    if (flushed.length === 0) return;
    await this.link.run((redis) => redis.forgetFlushed(this.keys.pendingRotations, ...flushed.flatMap((p) => [p.sessionId, p.token])));
  }

  count(): Promise<number> {
    return this.link.run((redis) => redis.hlen(this.keys.pendingRotations));
  }
}
