/**
 * Every Redis key, channel and queue name Meridian uses is built here and
 * nowhere else. All start with the configured prefix (MERIDIAN_REDIS_PREFIX),
 * so deployments and test runs can share one Redis without touching each
 * other's data. The in-process cache uses the same names for its entries.
 */

/** BullMQ queue names (BullMQ puts them after `bullPrefix` in its own keys). */
export const QUEUES = {
  /** Outbox events applied to the cache and the revocation channel. */
  sync: 'cache-sync',
  /** Scheduled cleanup. */
  maintenance: 'maintenance',
} as const;

export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

export function redisKeys(prefix: string) {
  return {
    /**
     * Hash {v: version, d: FamilyState JSON}: a session (token family); once revoked, the negative cache.
     * (`fam:` entries of earlier releases had other versions and data; they are left to expire.)
     */
    family: (sessionId: string) => `${prefix}:session:${sessionId}`,
    /** Hash {session id: "generation:rotated at ms"}: write-behind rotations not yet in PostgreSQL (no TTL: never evicted under noeviction). */
    pendingRotations: `${prefix}:rotations:pending`,
    /** Hash {c: count, r: window end ms}: a fixed-window throttling counter. */
    counter: (name: string) => `${prefix}:ctr:${name}`,
    /** String, set once with the proof's lifetime: a DPoP proof already taken (by the hash of its key and jti). */
    dpopProof: (proofHash: string) => `${prefix}:dpop:${proofHash}`,
    /** Pub/sub channel carrying revoked session ids to every API process of the region. */
    revocationChannel: `${prefix}:revocations`,
    /** What BullMQ puts before its own keys: `<prefix>:bull:<queue>:...`. */
    bullPrefix: `${prefix}:bull`,
  };
}

export type RedisKeys = ReturnType<typeof redisKeys>;
