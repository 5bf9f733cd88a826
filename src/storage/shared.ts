import type { Logger } from 'pino';
import { type CounterStore, MemoryCounterStore } from '../auth/counters.js';
import { MemoryReplayStore, type ReplayStore } from '../auth/dpop-replay.js';
import type { RevocationBus } from '../auth/revocation-sync.js';
import type { Config } from '../config/schema.js';
import type { Audit } from '../observability/audit.js';
import type { Metrics } from '../observability/metrics.js';
import type { Clock } from '../util/runtime.js';
import { RefreshCache } from './cache/refresh-cache.js';
import { MemoryVersionedStore } from './cache/versioned-store.js';
import { RedisLink } from './redis/connection.js';
import { FallbackCounterStore, RedisCounterStore } from './redis/counters.js';
import { FallbackReplayStore, RedisReplayStore } from './redis/dpop-replay.js';
import { type RedisKeys, redisKeys } from './redis/keys.js';
import { RedisRevocationChannel } from './redis/revocation-channel.js';
import { RedisRotations } from './redis/rotations.js';
import { RedisVersionedStore } from './redis/versioned-store.js';

/** How long start-up waits for Redis before starting degraded (served from PostgreSQL). */
const FIRST_CONNECT_WAIT_MS = 2000;

/**
 * What the processes of a region share besides PostgreSQL: the refresh
 * cache, the throttling counters and the revocation channel. With REDIS_URL
 * they live in Redis; without it (the embedded default, one process) the
 * cache and counters live in this process behind the same interfaces, and
 * there is no channel because there is nobody to tell.
 */
export interface SharedState {
  readonly kind: 'redis' | 'memory';
  readonly keys: RedisKeys;
  readonly cache: RefreshCache;
  readonly counters: CounterStore;
  /** DPoP proof ids already taken: the region's with Redis (per process while it is down), else this process's. */
  readonly replay: ReplayStore;
  readonly bus: RevocationBus | undefined;
  /** The Redis command connection (Redis only). */
  readonly link: RedisLink | undefined;
  /** Write-behind rotations and what of them is owed to PostgreSQL (Redis only). */
  readonly rotations: RedisRotations | undefined;
  /** The in-process cache entries (embedded default only). */
  readonly memory: MemoryVersionedStore | undefined;
  /** 'degraded' while Redis cannot be reached: everything is then served from PostgreSQL. */
  state(): Promise<'ok' | 'degraded'>;
  close(): Promise<void>;
}

export interface SharedDeps {
  logger: Logger;
  clock: Clock;
  metrics: Metrics;
  audit: Audit;
}

export async function openSharedState(config: Config, d: SharedDeps): Promise<SharedState> {
  let keys = redisKeys(config.redisPrefix);
  if (!config.redisUrl) {
    const memory = new MemoryVersionedStore(d.clock);
    return {
      kind: 'memory',
      keys,
      cache: new RefreshCache(memory, keys, d.clock, d.metrics),
      counters: new MemoryCounterStore(d.clock),
      replay: new MemoryReplayStore(d.clock),
      bus: undefined,
      link: undefined,
      rotations: undefined,
      memory,
      state: async () => 'ok',
      close: async () => {},
    };
  }
  const link = new RedisLink(config.redisUrl, d.logger);
  await link.ready(FIRST_CONNECT_WAIT_MS);
  if (link.cluster) keys = redisKeys(config.redisPrefix, true);
  const bus = new RedisRevocationChannel(link, keys.revocationChannel);
  return {
    kind: 'redis',
    keys,
    cache: new RefreshCache(new RedisVersionedStore(link), keys, d.clock, d.metrics),
    counters: new FallbackCounterStore(new RedisCounterStore(link, keys, d.clock), new MemoryCounterStore(d.clock), d.audit),
    replay: new FallbackReplayStore(new RedisReplayStore(link, keys), new MemoryReplayStore(d.clock), d.audit),
    bus,
    link,
    rotations: new RedisRotations(link, keys),
    memory: undefined,
    state: async () => ((await link.ping()) ? 'ok' : 'degraded'),
    close: async () => {
      await bus.close();
      await link.close();
    },
  };
}
