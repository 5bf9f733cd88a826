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

/** The outcome of `take`: the window as it stands, and whether one unit of it was taken. */
export interface Take extends WindowCount {
  granted: boolean;
  /** Returns the unit taken, if it was and its window is still open; otherwise does nothing. */
  giveBack(): Promise<void>;
}

export interface CounterStore {
  /** Adds one to `key`; a new window of `windowMs` starts with the first hit. */
  increment(key: string, windowMs: number): Promise<WindowCount>;
  /**
   * Adds one to `key` unless the count has reached `limit`, as one atomic
   * step, so that callers at once can never take more than `limit` units.
   */
  take(key: string, windowMs: number, limit: number): Promise<Take>;
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
    const w = this.open(key, windowMs);
    w.count += 1;
    return { ...w };
  }

  async take(key: string, windowMs: number, limit: number): Promise<Take> {
    const w = this.open(key, windowMs);
    if (w.count >= limit) return { ...w, granted: false, giveBack: async () => {} };
    w.count += 1;
    return {
      ...w,
      granted: true,
      // Only into the window it was taken from: one that ended (or was reset) since owes nothing.
      giveBack: async () => {
        if (this.windows.get(key) === w && w.resetAt > this.clock.now() && w.count > 0) w.count -= 1;
      },
    };
  }

  async get(key: string): Promise<WindowCount | null> {
    const w = this.windows.get(key);
    if (!w || w.resetAt <= this.clock.now()) return null;
    return { ...w };
  }

  async reset(key: string): Promise<void> {
    this.windows.delete(key);
  }

  /** The open window of `key`, started now if there is none. */
  private open(key: string, windowMs: number): WindowCount {
    const now = this.clock.now();
    let w = this.windows.get(key);
    if (!w || w.resetAt <= now) {
      this.windows.delete(key);
      if (this.windows.size >= this.maxKeys) this.evict(now);
      w = { count: 0, resetAt: now + windowMs };
      this.windows.set(key, w);
    }
    return w;
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
