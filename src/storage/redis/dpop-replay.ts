import type { ReplayStore } from '../../auth/dpop-replay.js';
import type { Audit } from '../../observability/audit.js';
import type { RedisLink } from './connection.js';
import type { RedisKeys } from './keys.js';

/**
 * DPoP proof ids shared by every process of the region: SET NX with the
 * proof's lifetime, so a proof is taken once on whichever server it lands.
 */
export class RedisReplayStore implements ReplayStore {
  constructor(
    private readonly link: RedisLink,
    private readonly keys: RedisKeys,
  ) {}

  async firstUse(key: string, ttlMs: number): Promise<boolean> {
    const set = await this.link.run((r) => r.set(this.keys.dpopProof(key), '1', 'PX', ttlMs, 'NX'));
    return set === 'OK';
  }
}

/**
 * The region's store while Redis answers, with this process's own record
 * always kept too: during an outage a proof is still taken once per process
 * (the stated bound), and one taken through Redis before it stays taken here.
 */
export class FallbackReplayStore implements ReplayStore {
  constructor(
    private readonly shared: ReplayStore,
    private readonly local: ReplayStore,
    private readonly audit: Audit,
  ) {}

  async firstUse(key: string, ttlMs: number): Promise<boolean> {
    if (!(await this.local.firstUse(key, ttlMs))) return false;
    try {
      return await this.shared.firstUse(key, ttlMs);
    } catch {
      this.audit('cache.lookup', { operation: 'dpop_replay', result: 'error' });
      return true;
    }
  }
}
