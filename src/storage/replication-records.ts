/**
 * What regions send each other: one event per committed change, carrying the
 * state the receiving region needs to hold a replica (never a refresh token,
 * only hashes; a user record includes the password hash, which local logins
 * need). An event is built when it is sent, from the sender's current rows:
 * the receiver merges states that only move forward (see replication-apply.ts),
 * so sending the newest state is always correct, and a late event can never
 * bring back an older one. Times are epoch milliseconds.
 */

export type ReplicationKind = 'user_created' | 'user_updated' | 'user_deleted' | 'created' | 'rotated' | 'revoked';

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
  generation: number;
  createdAt: number;
  expiresAt: number;
  lastUsedAt: number;
  revokedAt: number | null;
  revokedReason: string | null;
  /** The DPoP key thumbprint the family is bound to; once set, never changed anywhere. Absent from a region without DPoP. */
  jkt?: string | null;
}

export interface ReplicatedToken {
  hash: string;
  sessionId: string;
  userId: string;
  region: string;
  generation: number;
  parentHash: string | null;
  createdAt: number;
  expiresAt: number;
  consumedAt: number | null;
}

export interface ReplicatedRevocation {
  sessionId: string;
  userId: string;
  revokedAt: number;
  reason: string;
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
  tokens: ReplicatedToken[];
  /** Revocations: enough to enforce one in a region that does not hold the family. */
  revocation?: ReplicatedRevocation;
  deletion?: ReplicatedDeletion;
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
