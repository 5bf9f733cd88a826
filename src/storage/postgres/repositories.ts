import type {
  CreatedUser,
  KeyStore,
  NewSession,
  NewUser,
  RefreshState,
  RevocationReason,
  Rotation,
  SessionStore,
  SessionSummary,
  StoredKey,
  UserCredentials,
  UserRecord,
  UserStore,
} from '../../auth/stores.js';
import type { ChangeListener, FamilyState } from '../session-state.js';
import { familyOf } from '../session-state.js';
import type { Db } from './db.js';
import { SQL } from './sql.js';

const ms = (d: Date | string | null): number | null => (d === null ? null : new Date(d).getTime());
const at = (d: Date | string): number => new Date(d).getTime();
const date = (t: number): Date => new Date(t);

export class PgUserStore implements UserStore {
  private readonly insertSql: string;
  private readonly updateSql: string;
  private readonly replicate: boolean;

  /** `replicate`: record each new user, change and deletion in the outbox, for the other regions of a topology. */
  constructor(
    private readonly db: Db,
    replicate = false,
  ) {
    this.insertSql = replicate ? SQL.insertUserInTopology : SQL.insertUser;
    this.updateSql = replicate ? SQL.updateUserInTopology : SQL.updateUser;
    this.replicate = replicate;
  }

  async insert(u: NewUser): Promise<CreatedUser | null> {
    const r = await this.db.query<{ id: string; username: string; home_region: string; created_at: Date }>(this.insertSql, [
      u.id,
      u.username,
      u.usernameNormalized,
      u.passwordHash,
      u.homeRegion,
      date(u.now),
    ]);
    const row = r.rows[0];
    return row ? { id: row.id, username: row.username, homeRegion: row.home_region, createdAt: at(row.created_at) } : null;
  }

  async findByUsername(normalized: string): Promise<UserCredentials | null> {
    const r = await this.db.query<{ id: string; username: string; password_hash: string; disabled: boolean }>(SQL.findUserByUsername, [normalized]);
    const row = r.rows[0];
    return row ? { id: row.id, username: row.username, passwordHash: row.password_hash, disabled: row.disabled } : null;
  }

  async findById(id: string): Promise<UserRecord | null> {
    const r = await this.db.query<{
      id: string;
      username: string;
      username_normalized: string;
      password_hash: string;
      home_region: string;
      disabled: boolean;
      created_at: Date;
      password_changed_at: Date;
      sessions_ended_at: Date | null;
      sessions_kept: string | null;
    }>(SQL.findUserById, [id]);
    const row = r.rows[0];
    if (!row) return null;
    return {
      id: row.id,
      username: row.username,
      usernameNormalized: row.username_normalized,
      passwordHash: row.password_hash,
      homeRegion: row.home_region,
      disabled: row.disabled,
      createdAt: at(row.created_at),
      passwordChangedAt: at(row.password_changed_at),
      sessionsEnded: row.sessions_ended_at === null ? null : { at: at(row.sessions_ended_at), kept: row.sessions_kept },
    };
  }

  setPassword(id: string, passwordHash: string, now: number): Promise<boolean> {
    return this.update(id, passwordHash, null, now);
  }

  setDisabled(id: string, disabled: boolean, now: number): Promise<boolean> {
    return this.update(id, null, disabled, now);
  }

  private async update(id: string, passwordHash: string | null, disabled: boolean | null, now: number): Promise<boolean> {
    const r = await this.db.query(this.updateSql, [id, passwordHash, disabled, date(now)]);
    return r.rows.length > 0;
  }

  async delete(id: string, now: number): Promise<boolean> {
    // Only the topology's statement writes an outbox row, and only it takes the time.
    const r = await (this.replicate ? this.db.query(SQL.deleteUserInTopology, [id, date(now)]) : this.db.query(SQL.deleteUser, [id]));
    return r.rows.length > 0;
  }
}

/** A session and its user, in the columns of find-session. */
interface SessionRow {
  id: string;
  user_id: string;
  dpop_jkt: string | null;
  region: string;
  generation: number;
  last_used_at: Date;
  expires_at: Date;
  revoked_at: Date | null;
  username: string;
  disabled: boolean;
}

function toFamily(row: SessionRow): FamilyState {
  return {
    sessionId: row.id,
    userId: row.user_id,
    username: row.username,
    disabled: row.disabled,
    region: row.region,
    generation: row.generation,
    rotatedAt: at(row.last_used_at),
    expiresAt: at(row.expires_at),
    revokedAt: ms(row.revoked_at),
    jkt: row.dpop_jkt,
  };
}

export interface PgSessionStoreOptions {
  /** Called with the state a write left, once it has committed (the cache's write-through). */
  onChange?: ChangeListener;
  /** A region of a topology: logins and rotations are outbox events too, for the other regions. */
  replicate?: boolean;
}

/**
 * Sessions in PostgreSQL, one row each: the only state a refresh token has.
 * Every write's resulting state is handed to `onChange` once it has
 * committed. A revocation always writes its outbox row (the worker announces
 * it again and syncs the cache); logins and rotations write one only when
 * `replicate`.
 */
export class PgSessionStore implements SessionStore {
  private readonly onChange: ChangeListener | undefined;
  /** The statements that write logins and rotations: with their outbox row in a topology, without it otherwise. */
  private readonly sql: { create: string; rotate: string; revokeAll: string };

  constructor(
    private readonly db: Db,
    opts: PgSessionStoreOptions = {},
  ) {
    this.onChange = opts.onChange;
    this.sql = opts.replicate
      ? { create: SQL.createSessionInTopology, rotate: SQL.rotateSessionInTopology, revokeAll: SQL.revokeUserSessionsInTopology }
      : { create: SQL.createSession, rotate: SQL.rotateSession, revokeAll: SQL.revokeUserSessions };
  }

  async create(s: NewSession): Promise<boolean> {
    const r = await this.db.query<SessionRow>(this.sql.create, [
      s.id,
      s.userId,
      s.region,
      date(s.now),
      date(s.expiresAt),
      s.userAgent ?? null,
      s.ip ?? null,
      s.checkedPasswordHash,
      s.jkt ?? null,
    ]);
    if (r.rows.length === 0) return false;
    await this.onChange?.({ families: r.rows.map(toFamily) });
    return true;
  }

  async findSession(sessionId: string, _opts?: { consistent?: boolean }): Promise<RefreshState | null> {
    const r = await this.db.query<SessionRow>(SQL.findSession, [sessionId]);
    const row = r.rows[0];
    return row ? { ...toFamily(row), source: 'db' } : null;
  }

  async findLegacyToken(tokenHash: string): Promise<{ sessionId: string; generation: number } | null> {
    const r = await this.db.query<{ session_id: string; generation: number }>(SQL.findLegacyToken, [tokenHash]);
    const row = r.rows[0];
    return row ? { sessionId: row.session_id, generation: row.generation } : null;
  }

  async rotate(x: Rotation): Promise<boolean> {
    const lowest = x.storeMayLag ? 0 : x.from.generation;
    const r = await this.db.query<{ generation: number }>(this.sql.rotate, [
      x.from.sessionId,
      x.from.generation,
      x.generation,
      date(x.now),
      x.jkt ?? null,
      lowest,
    ]);
    if (r.rows.length === 0) return false;
    // The statement changed these columns only (the binding only if there was none); the rest is as the decision read it.
    await this.onChange?.({ families: [{ ...familyOf(x.from), generation: x.generation, rotatedAt: x.now, jkt: x.from.jkt ?? x.jkt ?? null }] });
    return true;
  }

  async revoke(sessionId: string, userId: string, now: number, reason: RevocationReason): Promise<boolean> {
    const r = await this.db.query<SessionRow>(SQL.revokeSession, [sessionId, userId, date(now), reason]);
    if (r.rows.length === 0) return false;
    await this.onChange?.({ families: r.rows.map(toFamily) });
    return true;
  }

  async revokeAllForUser(userId: string, now: number, reason: RevocationReason, except?: string): Promise<string[]> {
    return this.revokeMany(this.sql.revokeAll, [userId, date(now), reason, except ?? null]);
  }

  endSessionsStartedBefore(userId: string, before: number, kept: string | null, now: number): Promise<string[]> {
    return this.revokeMany(SQL.endSessionsBefore, [userId, date(before), kept, date(now)]);
  }

  private async revokeMany(sql: string, params: unknown[]): Promise<string[]> {
    const r = await this.db.query<SessionRow>(sql, params);
    if (r.rows.length) await this.onChange?.({ families: r.rows.map(toFamily) });
    return r.rows.map((row) => row.id);
  }

  async listForUser(userId: string, now: number, idleSince: number): Promise<SessionSummary[]> {
    const r = await this.db.query<{ id: string; region: string; created_at: Date; last_used_at: Date; user_agent: string | null; ip: string | null }>(
      SQL.listUserSessions,
      [userId, date(now), date(idleSince)],
    );
    return r.rows.map((row) => ({
      id: row.id,
      region: row.region,
      createdAt: at(row.created_at),
      lastUsedAt: at(row.last_used_at),
      userAgent: row.user_agent,
      ip: row.ip,
    }));
  }

  async revokedSince(since: number): Promise<{ id: string; revokedAt: number }[]> {
    const r = await this.db.query<{ id: string; revoked_at: Date }>(SQL.listRevocationsSince, [date(since)]);
    return r.rows.map((row) => ({ id: row.id, revokedAt: at(row.revoked_at) }));
  }
}

export class PgKeyStore implements KeyStore {
  constructor(private readonly db: Db) {}

  async list(since: number): Promise<StoredKey[]> {
    const r = await this.db.query<{
      kid: string;
      region: string;
      alg: string;
      public_jwk: Record<string, unknown> | string;
      private_jwk_enc: string | null;
      activates_at: Date;
      retired_at: Date | null;
    }>(SQL.listSigningKeys, [date(since)]);
    return r.rows.map((row) => ({
      kid: row.kid,
      region: row.region,
      alg: row.alg,
      publicJwk: typeof row.public_jwk === 'string' ? JSON.parse(row.public_jwk) : row.public_jwk,
      privateJwkEnc: row.private_jwk_enc,
      activatesAt: at(row.activates_at),
      retiredAt: ms(row.retired_at),
    }));
  }

  async add(k: StoredKey, now: number): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.query(SQL.insertSigningKey, [k.kid, k.region, k.alg, JSON.stringify(k.publicJwk), k.privateJwkEnc, date(now), date(k.activatesAt)]);
      await tx.query(SQL.retireSigningKeys, [k.region, date(k.activatesAt), k.kid]);
    });
  }

  async putForeign(k: StoredKey, now: number): Promise<void> {
    const retired = k.retiredAt === null ? null : date(k.retiredAt);
    await this.db.query(SQL.upsertForeignSigningKey, [k.kid, k.region, k.alg, JSON.stringify(k.publicJwk), date(now), date(k.activatesAt), retired]);
  }
}
