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
import type { ChangeListener, FamilyState, SessionChange, TokenState } from '../session-state.js';
import { familyOf, joinState, tokenOf } from '../session-state.js';
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

interface FamilyRow {
  session_id: string;
  user_id: string;
  session_generation: number;
  session_expires_at: Date;
  revoked_at: Date | null;
  dpop_jkt: string | null;
  region: string;
  username: string;
  disabled: boolean;
}

interface RefreshRow extends FamilyRow {
  token_hash: string;
  token_generation: number;
  consumed_at: Date | null;
  token_expires_at: Date;
}

function toFamily(row: FamilyRow): FamilyState {
  return {
    sessionId: row.session_id,
    userId: row.user_id,
    username: row.username,
    disabled: row.disabled,
    region: row.region,
    generation: row.session_generation,
    expiresAt: at(row.session_expires_at),
    revokedAt: ms(row.revoked_at),
    jkt: row.dpop_jkt,
  };
}

function toRefreshState(row: RefreshRow): RefreshState {
  const token: TokenState = {
    tokenHash: row.token_hash,
    sessionId: row.session_id,
    generation: row.token_generation,
    consumedAt: ms(row.consumed_at),
    expiresAt: at(row.token_expires_at),
  };
  return joinState(token, toFamily(row), 'db');
}

/** Rows in the columns of find-refresh-state: each a token and its family. */
function tokenChange(rows: RefreshRow[]): SessionChange {
  const states = rows.map(toRefreshState);
  // Every row carries the family as the statement left it; one copy is enough.
  return { tokens: states.map(tokenOf), families: states.slice(-1).map(familyOf) };
}

export interface PgSessionStoreOptions {
  /** Called with the state a write left, once it has committed (the cache's write-through). */
  onChange?: ChangeListener;
  /** A region of a topology: logins and rotations are outbox events too, for the other regions. */
  replicate?: boolean;
}

/**
 * Sessions in PostgreSQL. Every write statement returns the state it left,
 * which is handed to `onChange` once the statement has committed. A
 * revocation always writes its outbox row (the worker announces it again and
 * syncs the cache); logins and rotations write one only when `replicate`.
 */
export class PgSessionStore implements SessionStore {
  private readonly onChange: ChangeListener | undefined;
  /** The statements that write logins and rotations: with their outbox row in a topology, without it otherwise. */
  private readonly sql: { create: string; rotate: string };

  constructor(
    private readonly db: Db,
    opts: PgSessionStoreOptions = {},
  ) {
    this.onChange = opts.onChange;
    this.sql = opts.replicate
      ? { create: SQL.createSessionInTopology, rotate: SQL.rotateRefreshInTopology }
      : { create: SQL.createSession, rotate: SQL.rotateRefresh };
  }

  async create(s: NewSession): Promise<boolean> {
    const r = await this.db.query<RefreshRow>(this.sql.create, [
      s.id,
      s.userId,
      s.region,
      date(s.now),
      date(s.expiresAt),
      s.tokenHash,
      date(s.tokenExpiresAt),
      s.userAgent ?? null,
      s.ip ?? null,
      s.checkedPasswordHash,
      s.jkt ?? null,
    ]);
    if (r.rows.length === 0) return false;
    await this.onChange?.(tokenChange(r.rows));
    return true;
  }

  async findRefreshState(tokenHash: string, _opts?: { consistent?: boolean }): Promise<RefreshState | null> {
    const r = await this.db.query<RefreshRow>(SQL.findRefreshState, [tokenHash]);
    const row = r.rows[0];
    return row ? toRefreshState(row) : null;
  }

  /** A family as it is now; null when it does not exist (any more). */
  async findFamily(sessionId: string): Promise<FamilyState | null> {
    const r = await this.db.query<FamilyRow>(SQL.findFamily, [sessionId]);
    const row = r.rows[0];
    return row ? toFamily(row) : null;
  }

  async rotate(x: Rotation): Promise<boolean> {
    const r = await this.db.query<RefreshRow>(this.sql.rotate, [
      x.sessionId,
      x.generation,
      x.parentHash,
      x.childHash,
      date(x.childExpiresAt),
      date(x.now),
      x.jkt ?? null,
    ]);
    if (r.rows.length === 0) return false;
    await this.onChange?.(tokenChange(r.rows));
    return true;
  }

  async revoke(sessionId: string, userId: string, now: number, reason: RevocationReason): Promise<boolean> {
    const r = await this.db.query<FamilyRow>(SQL.revokeSession, [sessionId, userId, date(now), reason]);
    if (r.rows.length === 0) return false;
    await this.onChange?.({ tokens: [], families: r.rows.map(toFamily) });
    return true;
  }

  async revokeAllForUser(userId: string, now: number, reason: RevocationReason, except?: string): Promise<string[]> {
    const r = await this.db.query<FamilyRow>(SQL.revokeUserSessions, [userId, date(now), reason, except ?? null]);
    if (r.rows.length) await this.onChange?.({ tokens: [], families: r.rows.map(toFamily) });
    return r.rows.map((row) => row.session_id);
  }

  async listForUser(userId: string, now: number): Promise<SessionSummary[]> {
    const r = await this.db.query<{ id: string; region: string; created_at: Date; last_used_at: Date; user_agent: string | null; ip: string | null }>(
      SQL.listUserSessions,
      [userId, date(now)],
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

  async findOwner(tokenHash: string): Promise<{ sessionId: string; userId: string } | null> {
    const r = await this.db.query<{ session_id: string; user_id: string }>(SQL.findSessionOwner, [tokenHash]);
    const row = r.rows[0];
    return row ? { sessionId: row.session_id, userId: row.user_id } : null;
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
