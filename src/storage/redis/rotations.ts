import type { PendingBatch, PendingRotation, RotationLedger } from '../background.js';
import type { RedisLink } from './connection.js';
import type { RedisKeys } from './keys.js';

/** While some rotations are held back (their shard is down), a pass reads up to this many times the batch to find the others. */
const HELD_SCAN_FACTOR = 20;

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
  /** Where each hash's scan stands (HSCAN cursors): a pass goes on from the last, so entries left out are not met again at once. */
  private readonly cursors = new Map<string, string>();

  async rotate(r: CacheRotation): Promise<RotateResult> {
    const k = this.keys;
    const n = await this.link.run((redis) =>
      redis.rotateSession(k.family(r.sessionId), k.pendingRotations(r.sessionId), r.sessionId, r.from, r.generation, r.data, Math.ceil(r.ttlMs), r.now),
    );
    return n === 1 ? 'rotated' : n === 0 ? 'moved' : 'missing';
  }

  async pending(batch: number, held?: (sessionId: string) => boolean): Promise<PendingBatch> {
    const hashes = this.keys.pendingRotationHashes;
    // By session: a field read twice in one pass (by two scan steps, having rotated in between) is one rotation, the later.
    const out = new Map<string, PendingRotation>();
    // Entries `held` leaves out are read past, not taken: at most this many per pass, so a shard that is down costs a bounded scan.
    const budget = held ? batch * HELD_SCAN_FACTOR : batch;
    let read = 0;
    let whole = 0;
    for (let i = 0; i < hashes.length && out.size < batch && read < budget; i++) {
      const key = hashes[(this.next + i) % hashes.length] as string;
      // From where the scan stands, on to the end and round once from the start (entries added behind the
      // cursor are met there), until the batch is full or the budget read; read whole once a scan from the
      // start has come to its end.
      let cursor = this.cursors.get(key) ?? '0';
      let fromStart = cursor === '0';
      for (;;) {
        const [next, flat] = await this.link.run((redis) => redis.hscan(key, cursor, 'COUNT', batch - out.size));
        cursor = next;
        read += flat.length / 2;
        for (let j = 0; j + 1 < flat.length; j += 2) this.take(out, flat[j] as string, flat[j + 1] as string, held);
        if (cursor === '0' && fromStart) {
          whole++;
          break;
        }
        if (cursor === '0') fromStart = true;
        if (out.size >= batch || read >= budget) break;
      }
      this.cursors.set(key, cursor);
    }
    this.next = (this.next + 1) % hashes.length;
    return { rotations: [...out.values()], complete: whole === hashes.length };
  }

  /** Adds one pending entry to a pass's batch, unless held or malformed; of one session's two, the later. */
  private take(out: Map<string, PendingRotation>, sessionId: string, token: string, held?: (sessionId: string) => boolean): void {
    const [gen, at] = token.split(':');
    const generation = Number(gen);
    const rotatedAt = Number(at);
    if (!Number.isInteger(generation) || !Number.isFinite(rotatedAt) || held?.(sessionId)) return;
    if (generation >= (out.get(sessionId)?.generation ?? -1)) out.set(sessionId, { sessionId, generation, rotatedAt, token });
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
