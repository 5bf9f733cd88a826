/**
 * Every Redis key, channel and queue name Meridian uses is built here and
 * nowhere else. All start with the configured prefix (MERIDIAN_REDIS_PREFIX),
 * so deployments and test runs can share one Redis without touching each
 * other's data. The in-process cache uses the same names for its entries.
 *
 * On a Redis Cluster every key a script takes must hash to one slot. A
 * session's entry and the pending-rotations hash it is noted in share a hash
 * tag, `{<bucket>}`: one of SESSION_BUCKETS, fixed by the session id, so the
 * pending rotations are spread over that many hashes (and slots) that the
 * flush walks. Each BullMQ queue gets its own `{...}` prefix, which keeps all
 * of its keys in one slot. On a single Redis the names are as they always were.
 */
import { fnv1a } from '../../util/slots.js';

/** BullMQ queue names (BullMQ puts them after `bullPrefix` in its own keys). */
export const QUEUES = {
  /** Outbox events applied to the cache and the revocation channel. */
  sync: 'cache-sync',
  /** Scheduled cleanup. */
  maintenance: 'maintenance',
} as const;

export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

/** How many hash tags a cluster spreads sessions over; changing it strands the pending rotations of the old layout. */
export const SESSION_BUCKETS = 64;

/** The session's bucket: FNV-1a of its id, so every process places it alike without a lookup. */
export function sessionBucket(sessionId: string): number {
  return fnv1a(sessionId) % SESSION_BUCKETS;
}

export function redisKeys(prefix: string, cluster = false) {
  const pending = `${prefix}:rotations:pending`;
  const bullPrefix = `${prefix}:bull`;
  const tag = (sessionId: string) => `{${sessionBucket(sessionId)}}`;
  return {
    /** True when the keys are laid out for a Redis Cluster (hash tags). */
    cluster,
    /**
     * Hash {v: version, d: FamilyState JSON}: a session (token family); once revoked, the negative cache.
     * (`fam:` entries of earlier releases had other versions and data; they are left to expire.)
     */
    family: cluster ? (sessionId: string) => `${prefix}:session:${tag(sessionId)}:${sessionId}` : (sessionId: string) => `${prefix}:session:${sessionId}`,
    /** Hash {session id: "generation:rotated at ms"}: write-behind rotations not yet in PostgreSQL (no TTL: never evicted under noeviction). */
    pendingRotations: cluster ? (sessionId: string) => `${pending}:${tag(sessionId)}` : (_sessionId: string) => pending,
    /** Every pending-rotations hash, in the order the flush walks them. */
    pendingRotationHashes: cluster ? Array.from({ length: SESSION_BUCKETS }, (_, b) => `${pending}:{${b}}`) : [pending],
    /** Hash {c: count, r: window end ms}: a fixed-window throttling counter. */
    counter: (name: string) => `${prefix}:ctr:${name}`,
    /** String, set once with the proof's lifetime: a DPoP proof already taken (by the hash of its key and jti). */
    dpopProof: (proofHash: string) => `${prefix}:dpop:${proofHash}`,
    /** Pub/sub channel carrying revoked session ids to every API process of the region. */
    revocationChannel: `${prefix}:revocations`,
    /** What BullMQ puts before its own keys on a single Redis: `<prefix>:bull:<queue>:...`. */
    bullPrefix,
    /** The BullMQ prefix of one queue: `bullPrefix`, or on a cluster `{<prefix>:bull:<queue>}` (one slot per queue). */
    queuePrefix: (queue: QueueName) => (cluster ? `{${bullPrefix}:${queue}}` : bullPrefix),
  };
}

export type RedisKeys = ReturnType<typeof redisKeys>;
