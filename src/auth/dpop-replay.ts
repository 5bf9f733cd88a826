import type { Clock } from '../util/runtime.js';

/**
 * Where the `jti` of every accepted DPoP proof is kept for as long as the
 * proof could be accepted, so the same proof is taken once (RFC 9449 §11.1).
 * In a region with Redis the store is the region's (one proof, one use on
 * every server of the region); without it, each process keeps its own.
 */
export interface ReplayStore {
  /** True when `key` was not seen within the last `ttlMs`; records it either way. */
  firstUse(key: string, ttlMs: number): Promise<boolean>;
}

/**
 * The per-process store. Entries are dropped once expired, swept as the map
 * is written, so it holds at most the proofs accepted within one proof
 * lifetime.
 */
export class MemoryReplayStore implements ReplayStore {
  private readonly seen = new Map<string, number>();
  private nextSweep = 0;

  constructor(private readonly clock: Clock) {}

  async firstUse(key: string, ttlMs: number): Promise<boolean> {
    const now = this.clock.now();
    this.sweep(now, ttlMs);
    const until = this.seen.get(key);
    if (until !== undefined && until > now) return false;
    this.seen.set(key, now + ttlMs);
    return true;
  }

  private sweep(now: number, ttlMs: number): void {
    if (now < this.nextSweep) return;
    this.nextSweep = now + ttlMs;
    for (const [key, until] of this.seen) if (until <= now) this.seen.delete(key);
  }
}
