import type { Queryable } from '../storage/postgres/db.js';
import { SQL } from '../storage/postgres/sql.js';
import { regionOf } from '../util/runtime.js';
import type { Topology } from './topology.js';

/**
 * What regions send each other: one event per committed change, carrying the
 * state the receiving region needs to hold a replica (never a refresh token,
 * only hashes; a user record includes the password hash, which local logins
 * need). An event is built when it is sent, from the sender's current rows:
 * the receiver merges states that only move forward (see replication-apply.ts),
 * so sending the newest state is always correct, and a late event can never
 * bring back an older one. Times are epoch milliseconds.
 */

export type ReplicationKind = 'user_created' | 'created' | 'rotated' | 'revoked';

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
}

/** One outbox row as the relay claims it. */
export interface ChangeRow {
  kind: ReplicationKind;
  session_id: string | null;
  user_id: string | null;
  token_hashes: string[];
  created_at: Date;
}

/**
 * The regions a change made in `self` goes to. Revocations go to every
 * region, so that every verifier refuses the session's access tokens. A new
 * user goes to its home's nearby regions (the peers), for local logins. A
 * family lives in its origin region and is replicated to the origin's peers,
 * and only there: wherever it is rotated (a replica may rotate it), the
 * change goes to the origin and the origin's peers, so every region holding
 * a copy hears of every rotation directly, and the origin is where double
 * spends meet.
 */
export function targetsOf(kind: ReplicationKind, sessionId: string | null, self: string, topology: Topology): string[] {
  const peersOf = (id: string) => topology.regions.find((r) => r.id === id)?.peers ?? [];
  let targets: string[];
  if (kind === 'revoked') {
    targets = topology.regions.map((r) => r.id);
  } else if (kind === 'user_created') {
    targets = [...peersOf(self)];
  } else {
    const origin = (sessionId && regionOf(sessionId)) || self;
    targets = [origin, ...peersOf(origin)];
  }
  const known = new Set(topology.regions.map((r) => r.id));
  return [...new Set(targets)].filter((t) => t !== self && known.has(t));
}

const ms = (d: Date | string): number => new Date(d).getTime();
const msOrNull = (d: Date | string | null): number | null => (d === null ? null : ms(d));

/** Builds the event for one queued change from the current rows (inside the sender's transaction). */
export async function buildEvent(tx: Queryable, id: string, row: ChangeRow): Promise<ReplicationEvent> {
  const event: ReplicationEvent = { id, kind: row.kind, at: ms(row.created_at), tokens: [] };
  if (row.kind === 'revoked') {
    const family = row.session_id ? await readFamily(tx, row.session_id) : null;
    if (family?.revokedAt != null) event.revocation = { sessionId: family.id, userId: family.userId, revokedAt: family.revokedAt, reason: family.revokedReason ?? 'revoked' };
    return event;
  }
  const family = row.session_id ? await readFamily(tx, row.session_id) : null;
  const userId = row.user_id ?? family?.userId;
  const user = userId ? await readUser(tx, userId) : null;
  if (user) event.user = user;
  if (family) {
    event.family = family;
    event.tokens = await readTokens(tx, row.token_hashes);
  }
  return event;
}

async function readUser(tx: Queryable, id: string): Promise<ReplicatedUser | null> {
  const { rows } = await tx.query<Record<string, unknown>>(SQL.replicationUser, [id]);
  const u = rows[0];
  if (!u) return null;
  return {
    id: u.id as string,
    username: u.username as string,
    usernameNormalized: u.username_normalized as string,
    passwordHash: u.password_hash as string,
    homeRegion: u.home_region as string,
    disabled: u.disabled as boolean,
    createdAt: ms(u.created_at as Date),
    updatedAt: ms(u.updated_at as Date),
    passwordChangedAt: ms(u.password_changed_at as Date),
  };
}

async function readFamily(tx: Queryable, id: string): Promise<ReplicatedFamily | null> {
  const { rows } = await tx.query<Record<string, unknown>>(SQL.replicationFamily, [id]);
  const s = rows[0];
  if (!s) return null;
  return {
    id: s.id as string,
    userId: s.user_id as string,
    region: s.region as string,
    generation: s.generation as number,
    createdAt: ms(s.created_at as Date),
    expiresAt: ms(s.expires_at as Date),
    lastUsedAt: ms(s.last_used_at as Date),
    revokedAt: msOrNull(s.revoked_at as Date | null),
    revokedReason: (s.revoked_reason as string | null) ?? null,
  };
}

async function readTokens(tx: Queryable, hashes: string[]): Promise<ReplicatedToken[]> {
  if (hashes.length === 0) return [];
  const { rows } = await tx.query<Record<string, unknown>>(SQL.replicationTokens, [hashes]);
  return rows.map((t) => ({
    hash: t.token_hash as string,
    sessionId: t.session_id as string,
    userId: t.user_id as string,
    region: t.region as string,
    generation: t.generation as number,
    parentHash: (t.parent_hash as string | null) ?? null,
    createdAt: ms(t.created_at as Date),
    expiresAt: ms(t.expires_at as Date),
    consumedAt: msOrNull(t.consumed_at as Date | null),
  }));
}
