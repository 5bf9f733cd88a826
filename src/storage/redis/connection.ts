import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import { defineScripts } from './scripts.js';
import { redisTarget } from './target.js';

/**
 * Connections to the region's Redis. The cache, the counters and the
 * revocation publisher must never make a request wait on a Redis that is
 * down: commands fail at once while disconnected (no offline queue) and give
 * up after `commandTimeout` on a Redis that hangs, and the caller falls back
 * to PostgreSQL. ioredis keeps reconnecting in the background, forever.
 */
const FAIL_FAST: RedisOptions = {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  connectTimeout: 1000,
  commandTimeout: 500,
  retryStrategy: (times) => Math.min(50 * 2 ** times, 2000),
  // Commands issued in the same tick (many concurrent refreshes) go out in one write: under load,
  // system calls, not Redis, were the cost (see docs/benchmarks.md).
  enableAutoPipelining: true,
};

/**
 * The same on a cluster: per-node options go to every node connection, and a
 * moved slot (a replica promoted) is retried on the new owner after a short
 * wait instead of failing the request.
 */
function clusterOptions(options: RedisOptions): ClusterOptions {
  const { enableOfflineQueue, retryStrategy, ...node } = FAIL_FAST;
  return {
    enableOfflineQueue,
    // Off: a pipeline queued for a node before a promotion is refused whole once the slot map changes
    // ("All keys in the pipeline should belong to the same slots allocation group"), and kept failing the queue's jobs.
    enableAutoPipelining: false,
    clusterRetryStrategy: retryStrategy,
    redisOptions: { ...node, ...options },
    retryDelayOnFailover: 100,
    retryDelayOnClusterDown: 100,
    retryDelayOnTryAgain: 100,
    slotsRefreshTimeout: 1000,
  };
}

/** A connection to a single Redis (direct or through Sentinel) or to a Redis Cluster: both take the same commands. */
export type RedisClient = Redis | Cluster;

/**
 * The connection that wrote `key`: itself on a single Redis, on a cluster the
 * pooled connection to the master of the key's slot (what WAIT must be sent
 * on, since it counts that connection's own writes).
 */
export async function masterOf(client: RedisClient, key: string): Promise<Redis> {
  if (!(client instanceof Cluster)) return client;
  const slot = (await client.call('CLUSTER', 'KEYSLOT', key)) as number;
  const owner = client.slots[slot]?.[0];
  const node = client.nodes('master').find((n) => `${n.options.host}:${n.options.port}` === owner);
  if (!node) throw new RedisUnavailableError(`no master known for slot ${slot}`);
  return node;
}

/** After a command times out, Redis is skipped this long instead of costing every request a timeout. */
const BYPASS_AFTER_TIMEOUT_MS = 1000;

/** Thrown without a round trip when Redis is known to be unreachable. */
export class RedisUnavailableError extends Error {
  override readonly name = 'RedisUnavailableError';
}

/** The policy BullMQ needs: with any other, Redis may evict queue keys and lose jobs. */
export const REQUIRED_EVICTION_POLICY = 'noeviction';

/** The server's maxmemory-policy, from CONFIG GET or, where CONFIG is disabled, INFO; on a cluster, the first master's that is not noeviction. */
export async function evictionPolicy(redis: RedisClient): Promise<string | undefined> {
  if (redis instanceof Cluster) {
    const policies = await Promise.all(redis.nodes('master').map((node) => evictionPolicy(node)));
    return policies.find((p) => p !== REQUIRED_EVICTION_POLICY) ?? policies[0];
  }
  try {
    const [, policy] = (await redis.config('GET', 'maxmemory-policy')) as string[];
    if (policy) return policy;
  } catch {
    // Managed services often rename or disable CONFIG; INFO still says it.
  }
  const info = await redis.info('memory');
  return /^maxmemory_policy:(\S+)/m.exec(info)?.[1];
}

async function reportEvictionPolicy(redis: RedisClient, logger: Logger): Promise<void> {
  const policy = await evictionPolicy(redis).catch(() => undefined);
  if (policy === undefined) {
    logger.warn('could not read the Redis maxmemory-policy; the job queues need "noeviction"');
  } else if (policy !== REQUIRED_EVICTION_POLICY) {
    logger.error(
      { policy },
      `Redis maxmemory-policy is "${policy}" but must be "noeviction": under memory pressure Redis would evict job queue keys and lose jobs. ` +
        'Fix: redis-cli CONFIG SET maxmemory-policy noeviction (and set it in redis.conf). Cache entries expire by TTL and need no eviction.',
    );
  }
}

/**
 * One command connection with its health: commands run only while it is
 * ready, fail fast otherwise, and a timeout makes it skipped for a moment.
 */
export class RedisLink {
  readonly redis: RedisClient;
  /**
   * The master has replicas that Sentinel promotes when it fails: a write that
   * must survive the failover (a queued job) waits until a replica has it.
   * On a cluster every master has a replica that the cluster promotes.
   */
  readonly replicated: boolean;
  /** REDIS_URL names a Redis Cluster: keys need hash tags (redisKeys) and scripts one slot each. */
  readonly cluster: boolean;
  private bypassUntil = 0;
  private down = false;

  constructor(url: string, logger: Logger) {
    const target = redisTarget(url);
    this.cluster = target.kind === 'cluster';
    this.replicated = target.kind !== 'direct';
    this.redis =
      target.kind === 'direct'
        ? new Redis(target.url, { ...FAIL_FAST, lazyConnect: false })
        : target.kind === 'sentinel'
          ? new Redis({ ...FAIL_FAST, ...target.options, lazyConnect: false })
          : new Cluster(target.nodes, { ...clusterOptions(target.options), lazyConnect: false });
    defineScripts(this.redis);
    this.redis.on('error', (err: Error) => {
      // One line per outage, not one per reconnect attempt.
      if (!this.down) logger.warn({ err: err.message }, 'Redis unreachable: serving from PostgreSQL until it is back');
      this.down = true;
    });
    this.redis.on('ready', () => {
      if (this.down) logger.info('Redis connection restored');
      this.down = false;
      void reportEvictionPolicy(this.redis, logger);
    });
  }

  /** Waits up to `ms` for the first connection; false when Redis is not there (the service starts degraded). */
  async ready(ms: number): Promise<boolean> {
    if (this.redis.status === 'ready') return true;
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.redis.off('ready', onReady);
        resolve(ok);
      };
      const onReady = () => done(true);
      const timer = setTimeout(() => done(false), ms);
      this.redis.on('ready', onReady);
    });
  }

  get usable(): boolean {
    return this.redis.status === 'ready' && performance.now() >= this.bypassUntil;
  }

  /** Runs `op` on the connection, or throws RedisUnavailableError at once when Redis is known to be unreachable. */
  async run<T>(op: (redis: RedisClient) => Promise<T>): Promise<T> {
    if (!this.usable) throw new RedisUnavailableError('Redis is unreachable');
    try {
      return await op(this.redis);
    } catch (err) {
      if (err instanceof Error && /timed? ?out/i.test(err.message)) this.bypassUntil = performance.now() + BYPASS_AFTER_TIMEOUT_MS;
      throw err;
    }
  }

  /** A second connection for SUBSCRIBE: it may queue commands until connected; the caller subscribes again on every reconnect. */
  subscriber(): RedisClient {
    const sub = this.copy({ enableOfflineQueue: true, commandTimeout: undefined, autoResubscribe: false });
    sub.on('error', () => {
      // Reported once by the command connection; this one reconnects on its own.
    });
    return sub;
  }

  /** A connection for BullMQ producers: fails fast like this one, without the command timeout its longer scripts could exceed. */
  producer(): RedisClient {
    const conn = this.copy({ commandTimeout: undefined });
    conn.on('error', () => {});
    return conn;
  }

  /** A connection for BullMQ workers, whose blocking commands must wait and retry rather than fail fast. */
  blocking(): RedisClient {
    const conn = this.copy({ enableOfflineQueue: true, commandTimeout: undefined, maxRetriesPerRequest: null });
    conn.on('error', () => {});
    return conn;
  }

  /** Another connection like this one, with `o` changed: on a cluster the per-node options are changed on every node. */
  private copy(o: RedisOptions): RedisClient {
    if (!(this.redis instanceof Cluster)) return this.redis.duplicate(o);
    const { enableOfflineQueue, ...node } = o;
    const conn = this.redis.duplicate([], {
      ...(enableOfflineQueue === undefined ? {} : { enableOfflineQueue }),
      redisOptions: { ...this.redis.options.redisOptions, ...node },
    });
    return conn;
  }

  /** True when Redis answers now (bounded by the command timeout). */
  async ping(): Promise<boolean> {
    try {
      return (await this.run((r) => r.ping())) === 'PONG';
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}
