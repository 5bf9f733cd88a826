import type { Clock } from '../../util/runtime.js';

/**
 * The storage contract under the refresh cache: entries carry a version and a
 * TTL, and a write never replaces an entry with an older or equal version.
 * Redis implements it with a Lua script (storage/redis/); the embedded
 * default keeps the entries in this process.
 */
export interface VersionedStore {
  get(key: string): Promise<string | null>;
  /** Stores `data` unless the entry holds `version` or higher; true when stored. */
  setIfNewer(key: string, version: number, data: string, ttlMs: number): Promise<boolean>;
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
    const e = this.live(key);
    return e ? e.data : null;
  }

  async setIfNewer(key: string, version: number, data: string, ttlMs: number): Promise<boolean> {
    const current = this.live(key);
    if (current && current.version >= version) return false;
    this.entries.delete(key);
    if (this.entries.size >= this.maxEntries) this.dropOldest();
    this.entries.set(key, { version, data, expiresAt: this.clock.now() + ttlMs });
    return true;
  }

  /** Forgets every entry, as a restarted or flushed Redis would. */
  clear(): void {
    this.entries.clear();
  }

  /** Forgets one entry, as an evicting Redis might. */
  evict(key: string): void {
    this.entries.delete(key);
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
