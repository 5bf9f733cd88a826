import type { VersionedStore } from '../cache/versioned-store.js';
import type { RedisLink } from './connection.js';

/** Versioned cache entries as Redis hashes {v, d}; writes go through set-if-newer-1.lua. */
export class RedisVersionedStore implements VersionedStore {
  constructor(private readonly link: RedisLink) {}

  get(key: string): Promise<string | null> {
    return this.link.run((r) => r.hget(key, 'd'));
  }

  async setIfNewer(key: string, version: number, data: string, ttlMs: number): Promise<boolean> {
    return (await this.link.run((r) => r.setIfNewer(key, version, data, Math.ceil(ttlMs)))) === 1;
  }
}
