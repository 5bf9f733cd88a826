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
 * it did not move on meanwhile (`forget-flushed-1.lua`). On a cluster the
 * pending rotations are spread over one hash per session bucket (keys.ts),
 * each in its sessions' slot; a flush walks them, starting one further each time.
 */
export class RedisRotations implements RotationLedger {
  constructor(
    private readonly link: RedisLink,
    private readonly keys: RedisKeys,
  ) {}

  /** Where the flush begins its next walk over the pending hashes, so none is left behind by full batches from others. */
  private next = 0;

  async rotate(r: CacheRotation): Promise<RotateResult> {
    const k = this.keys;
    const n = await this.link.run((redis) =>
      redis.rotateSession(k.family(r.sessionId), k.pendingRotations(r.sessionId), r.sessionId, r.from, r.generation, r.data, Math.ceil(r.ttlMs), r.now),
    );
    return n === 1 ? 'rotated' : n === 0 ? 'moved' : 'missing';
  }

  async pending(batch: number): Promise<PendingRotation[]> {
    const hashes = this.keys.pendingRotationHashes;
    const out: PendingRotation[] = [];
    for (let i = 0; i < hashes.length && out.length < batch; i++) {
      const key = hashes[(this.next + i) % hashes.length] as string;
      // A random sample bounds each flush however large the backlog grew (PostgreSQL down for a while).
      const flat = (await this.link.run((redis) => redis.hrandfield(key, batch - out.length, 'WITHVALUES'))) as string[];
      for (let j = 0; j + 1 < flat.length; j += 2) {
        const [gen, at] = (flat[j + 1] as string).split(':');
        const generation = Number(gen);
        const rotatedAt = Number(at);
        if (Number.isInteger(generation) && Number.isFinite(rotatedAt))
          out.push({ sessionId: flat[j] as string, generation, rotatedAt, token: flat[j + 1] as string });
      }
    }
    this.next = (this.next + 1) % hashes.length;
    return out;
  }

  async forget(flushed: readonly PendingRotation[]): Promise<void> {
    const byHash = new Map<string, string[]>();
    for (const p of flushed) {
      const key = this.keys.pendingRotations(p.sessionId);
      byHash.set(key, [...(byHash.get(key) ?? []), p.sessionId, p.token]);
    }
    await Promise.all([...byHash].map(([key, idsAndValues]) => this.link.run((redis) => redis.forgetFlushed(key, ...idsAndValues))));
  }

  async count(): Promise<number> {
    const counts = await Promise.all(this.keys.pendingRotationHashes.map((key) => this.link.run((redis) => redis.hlen(key))));
    return counts.reduce((a, b) => a + b, 0);
  }
}
