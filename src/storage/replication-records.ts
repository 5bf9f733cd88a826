/**
 * What regions send each other: one event per committed change, carrying the
 * state the receiving region needs to hold a replica (never a refresh token:
 * a session's generation is all a token needs; a user record includes the password hash, which local logins
 * need). An event is built when it is sent, from the sender's current rows:
 * the receiver merges states that only move forward (see replication-apply.ts),
 * so sending the newest state is always correct, and a late event can never
 * bring back an older one. Times are epoch milliseconds.
 */

export type ReplicationKind = 'user_created' | 'user_updated' | 'user_deleted' | 'created' | 'rotated' | 'revoked' | 'sessions_ended';

export interface ReplicatedUser {
  id: string;
  username: string;
  usernameNormalized: string;
  passwordHash: string;
  homeRegion: string;
  disabled: boolean;
  createdAt: number;
  updatedAt: number;
  passwordChangedAt: number;
}

export interface ReplicatedFamily {
  id: string;
  userId: string;
  /** The family's origin region, kept wherever it is replicated. */
  region: string;
  /** The live generation, and when it was minted: a rotation travels as this pair, merged by maximum. */
  generation: number;
  createdAt: number;
  expiresAt: number;
  lastUsedAt: number;
  /** When the generation before `generation` was minted; null or absent where unknown (and from senders of earlier releases). */
  previousRotatedAt?: number | null;
  revokedAt: number | null;
  revokedReason: string | null;
  /** The DPoP key thumbprint the family is bound to; once set, never changed anywhere. Absent from a region without DPoP. */
  jkt?: string | null;
}

export interface ReplicatedRevocation {
  sessionId: string;
  userId: string;
  revokedAt: number;
  reason: string;
}

/** Every session of a user started until `endedAt` ended, but `kept`: each region ends those it holds, and those it receives later. */
export interface ReplicatedSessionsEnded {
  userId: string;
  endedAt: number;
  kept: string | null;
}

/** A user deleted at home: every region drops its replica and never takes the id again. */
export interface ReplicatedDeletion {
  userId: string;
  deletedAt: number;
}

export interface ReplicationEvent {
  /** The sender's queue row id: unique per sender and target, for logs. */
  id: string;
  kind: ReplicationKind;
  /** When the change was made in the sending region (replication lag starts here). */
  at: number;
  user?: ReplicatedUser;
  family?: ReplicatedFamily;
  /**
   * Always empty: refresh tokens have no rows to replicate (a session's
   * generation says it all). Kept because receivers of the release before
   * sent token rows here and require the field; what such a sender puts here
   * is ignored.
   */
  tokens: unknown[];
  /** Revocations: enough to enforce one in a region that does not hold the family. */
  revocation?: ReplicatedRevocation;
  deletion?: ReplicatedDeletion;
  sessionsEnded?: ReplicatedSessionsEnded;
}

/** One outbox row as the relay claims it. */
export interface ChangeRow {
  kind: ReplicationKind;
  session_id: string | null;
  user_id: string | null;
  token_hashes: string[];
  created_at: Date;
}

/** The revocation an event carries, whether as a revocation or as a revoked family. */
export function revocationOf(e: ReplicationEvent): ReplicatedRevocation | undefined {
  if (e.revocation) return e.revocation;
  const f = e.family;
  return f && f.revokedAt !== null ? { sessionId: f.id, userId: f.userId, revokedAt: f.revokedAt, reason: f.revokedReason ?? 'revoked' } : undefined;
}
