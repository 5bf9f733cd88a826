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

/** How one field of an event is read from a row: its column, and whether it is a time (epoch ms; null stays null). */
type Column = readonly [name: string, time?: 'time'];

function fromRow<T>(row: Record<string, unknown>, columns: { [K in keyof T]: Column }): T {
  const out: Record<string, unknown> = {};
  for (const [field, [name, time]] of Object.entries(columns) as [string, Column][]) {
    const v = row[name] ?? null;
    out[field] = time && v !== null ? ms(v as Date) : v;
  }
  return out as T;
}

const USER: { [K in keyof ReplicatedUser]: Column } = {
  id: ['id'], username: ['username'], usernameNormalized: ['username_normalized'], passwordHash: ['password_hash'], homeRegion: ['home_region'],
  disabled: ['disabled'], createdAt: ['created_at', 'time'], updatedAt: ['updated_at', 'time'], passwordChangedAt: ['password_changed_at', 'time'],
};
const FAMILY: { [K in keyof ReplicatedFamily]: Column } = {
  id: ['id'], userId: ['user_id'], region: ['region'], generation: ['generation'], createdAt: ['created_at', 'time'], expiresAt: ['expires_at', 'time'],
  lastUsedAt: ['last_used_at', 'time'], revokedAt: ['revoked_at', 'time'], revokedReason: ['revoked_reason'],
};
const TOKEN: { [K in keyof ReplicatedToken]: Column } = {
  hash: ['token_hash'], sessionId: ['session_id'], userId: ['user_id'], region: ['region'], generation: ['generation'], parentHash: ['parent_hash'],
  createdAt: ['created_at', 'time'], expiresAt: ['expires_at', 'time'], consumedAt: ['consumed_at', 'time'],
};

/** Builds the event for one queued change from the current rows (inside the sender's transaction). */
export async function buildEvent(tx: Queryable, id: string, row: ChangeRow): Promise<ReplicationEvent> {
  const event: ReplicationEvent = { id, kind: row.kind, at: ms(row.created_at), tokens: [] };
  const family = row.session_id ? await readOne<ReplicatedFamily>(tx, SQL.replicationFamily, row.session_id, FAMILY) : null;
  if (row.kind === 'revoked') {
    if (family?.revokedAt != null) event.revocation = { sessionId: family.id, userId: family.userId, revokedAt: family.revokedAt, reason: family.revokedReason ?? 'revoked' };
    return event;
  }
  const userId = row.user_id ?? family?.userId;
  const user = userId ? await readOne<ReplicatedUser>(tx, SQL.replicationUser, userId, USER) : null;
  if (user) event.user = user;
  if (family) {
    event.family = family;
    if (row.token_hashes.length) event.tokens = (await tx.query<Record<string, unknown>>(SQL.replicationTokens, [row.token_hashes])).rows.map((t) => fromRow<ReplicatedToken>(t, TOKEN));
  }
  return event;
}

async function readOne<T>(tx: Queryable, sql: string, id: string, columns: { [K in keyof T]: Column }): Promise<T | null> {
  const { rows } = await tx.query<Record<string, unknown>>(sql, [id]);
  return rows[0] ? fromRow(rows[0], columns) : null;
}
