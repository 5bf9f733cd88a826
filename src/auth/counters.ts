/**
 * Fixed-window counters, the storage contract behind throttling. The memory
 * implementation serves one process (the embedded default); a shared store
 * (Redis) serves a region of many processes with the same contract.
 */
import type { Clock } from '../util/runtime.js';

export interface WindowCount {
  count: number;
  /** When the window ends and the count returns to zero (epoch ms). */
  resetAt: number;
}

export interface CounterStore {
  /** Adds one to `key`; a new window of `windowMs` starts with the first hit. */
  increment(key: string, windowMs: number): Promise<WindowCount>;
  get(key: string): Promise<WindowCount | null>;
  reset(key: string): Promise<void>;
}

/** Bounded: past `maxKeys` the oldest windows are dropped, so a flood of distinct keys cannot exhaust memory. */
export class MemoryCounterStore implements CounterStore {
  private readonly windows = new Map<string, WindowCount>();

  constructor(
    private readonly clock: Clock,
    private readonly maxKeys = 100_000,
  ) {}

  async increment(key: string, windowMs: number): Promise<WindowCount> {
    const now = this.clock.now();
    let w = this.windows.get(key);
    if (!w || w.resetAt <= now) {
      this.windows.delete(key);
      if (this.windows.size >= this.maxKeys) this.evict(now);
      w = { count: 0, resetAt: now + windowMs };
      this.windows.set(key, w);
    }
    w.count += 1;
    return { ...w };
  }

  async get(key: string): Promise<WindowCount | null> {
    const w = this.windows.get(key);
    if (!w || w.resetAt <= this.clock.now()) return null;
    return { ...w };
  }

  async reset(key: string): Promise<void> {
    this.windows.delete(key);
  }

  private evict(now: number): void {
    for (const [k, w] of this.windows) if (w.resetAt <= now) this.windows.delete(k);
    // Still full: drop the oldest tenth (Map keeps insertion order).
    let drop = this.windows.size >= this.maxKeys ? Math.ceil(this.maxKeys / 10) : 0;
    for (const k of this.windows.keys()) {
      if (drop-- <= 0) break;
      this.windows.delete(k);
    }
  }
}
