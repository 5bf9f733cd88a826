import type { Clock } from '../../util/runtime.js';

/**
 * The storage contract under the refresh cache: entries carry a version and a
 * TTL, and a write never replaces an entry with an older or equal version.
 * Redis implements it with Lua scripts (storage/redis/); the embedded
 * default keeps the entries in this process.
 */
export interface VersionedStore {
  /** The data of `key`; null when absent. */
  get(key: string): Promise<string | null>;
  /** Stores each entry unless the store holds its version or higher; true for each stored. */
  setIfNewer(entries: readonly VersionedEntry[]): Promise<boolean[]>;
}

export interface VersionedEntry {
  key: string;
  version: number;
  data: string;
  ttlMs: number;
}

interface Entry {
  version: number;
  data: string;
  expiresAt: number;
}

/**
 * In-process entries with the same semantics as the Redis store, bounded:
 * past `maxEntries` the oldest writes are dropped first, as an evicting Redis
 * would drop them, and expiry follows the injected clock.
 */
export class MemoryVersionedStore implements VersionedStore {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly clock: Clock,
    private readonly maxEntries = 200_000,
  ) {}

  async get(key: string): Promise<string | null> {
    return this.live(key)?.data ?? null;
  }

  async setIfNewer(entries: readonly VersionedEntry[]): Promise<boolean[]> {
    return entries.map((e) => this.put(e));
  }

  /** Forgets every entry, as a restarted or flushed Redis would. */
  clear(): void {
    this.entries.clear();
  }

  /** Forgets one entry, as an evicting Redis might. */
  evict(key: string): void {
    this.entries.delete(key);
  }

  private put({ key, version, data, ttlMs }: VersionedEntry): boolean {
    const current = this.live(key);
    if (current && current.version >= version) return false;
    this.entries.delete(key);
    if (this.entries.size >= this.maxEntries) this.dropOldest();
    this.entries.set(key, { version, data, expiresAt: this.clock.now() + ttlMs });
    return true;
  }

  private live(key: string): Entry | undefined {
    const e = this.entries.get(key);
    if (e && e.expiresAt <= this.clock.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return e;
  }

  private dropOldest(): void {
    // Map iterates in insertion order; drop a tenth so this runs rarely.
    let n = Math.ceil(this.maxEntries / 10);
    for (const k of this.entries.keys()) {
      if (n-- <= 0) break;
      this.entries.delete(k);
    }
  }
}
