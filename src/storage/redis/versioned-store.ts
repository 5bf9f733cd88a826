import type { VersionedEntry, VersionedStore } from '../cache/versioned-store.js';
import type { RedisLink } from './connection.js';

/**
 * Versioned cache entries as Redis hashes {v, d}: read with HGET, written by
 * set-if-newer-n.lua. On a cluster the entries of one call (all of a user's
 * sessions, revoked together) lie in many slots, and a script may touch one:
 * each entry is then its own call, sent side by side.
 */
export class RedisVersionedStore implements VersionedStore {
  constructor(private readonly link: RedisLink) {}

  get(key: string): Promise<string | null> {
    return this.link.run((r) => r.hget(key, 'd'));
  }

  async setIfNewer(entries: readonly VersionedEntry[]): Promise<boolean[]> {
    if (entries.length === 0) return [];
    if (this.link.cluster && entries.length > 1) return (await Promise.all(entries.map((e) => this.setIfNewer([e])))).flat();
    const args: (string | number)[] = entries.map((e) => e.key);
    for (const e of entries) args.push(e.version, e.data, Math.ceil(e.ttlMs));
    const stored = await this.link.run((r) => r.setIfNewer(entries.length, ...args));
    return stored.map((n) => n === 1);
  }
}
