/**
 * A durable PostgreSQL adapter for node-oidc-provider, written to the adapter
 * contract its documentation gives (one instance per model name): upsert,
 * find, findByUserCode, findByUid, consume, destroy, revokeByGrantId. The
 * refresh benchmark runs the provider on it so that both servers commit every
 * rotation to the same PostgreSQL. Every call is its own statement in
 * autocommit, so every upsert and consume is a commit (nothing batched,
 * nothing cached). One table holds every model; the payload is jsonb, and the
 * fields the contract looks up by (grantId, uid, userCode) are columns with
 * their own indexes. Statements are named, so PostgreSQL plans each once per
 * connection, as Meridian's are.
 */
import pg from 'pg';

/** The provider's payload: an object it serialises as it likes. */
type Payload = Record<string, unknown>;

/** Connections of the provider's pool carry this name, so the benchmark can tell its PostgreSQL backends apart. */
export const APPLICATION_NAME = 'bench-oidc-provider';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS oidc_payloads (
  model text NOT NULL,
  id text NOT NULL,
  payload jsonb NOT NULL,
  grant_id text,
  user_code text,
  uid text,
  expires_at timestamptz,
  consumed_at timestamptz,
  PRIMARY KEY (model, id)
);
CREATE INDEX IF NOT EXISTS oidc_payloads_grant_id ON oidc_payloads (model, grant_id) WHERE grant_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS oidc_payloads_user_code ON oidc_payloads (model, user_code) WHERE user_code IS NOT NULL;
CREATE INDEX IF NOT EXISTS oidc_payloads_uid ON oidc_payloads (model, uid) WHERE uid IS NOT NULL;
`;

// The contract: upsert replaces the whole payload and its expiry; a replaced row is live again.
const UPSERT = `
INSERT INTO oidc_payloads (model, id, payload, grant_id, user_code, uid, expires_at, consumed_at)
VALUES ($1, $2, $3, $4, $5, $6, now() + $7::float8 * interval '1 second', NULL)
ON CONFLICT (model, id) DO UPDATE SET
  payload = EXCLUDED.payload, grant_id = EXCLUDED.grant_id, user_code = EXCLUDED.user_code,
  uid = EXCLUDED.uid, expires_at = EXCLUDED.expires_at, consumed_at = NULL`;

// Expired rows are never returned: the contract leaves expiry to the adapter.
const LIVE = '(expires_at IS NULL OR expires_at > now())';
const SELECT = `SELECT payload, extract(epoch FROM consumed_at)::bigint AS consumed FROM oidc_payloads`;
const FIND = `${SELECT} WHERE model = $1 AND id = $2 AND ${LIVE}`;
const FIND_BY_UID = `${SELECT} WHERE model = $1 AND uid = $2 AND ${LIVE}`;
const FIND_BY_USER_CODE = `${SELECT} WHERE model = $1 AND user_code = $2 AND ${LIVE}`;
const CONSUME = 'UPDATE oidc_payloads SET consumed_at = now() WHERE model = $1 AND id = $2';
const DESTROY = 'DELETE FROM oidc_payloads WHERE model = $1 AND id = $2';
const REVOKE_BY_GRANT = 'DELETE FROM oidc_payloads WHERE model = $1 AND grant_id = $2';

interface Row {
  payload: Payload;
  consumed: string | null;
}

/** Creates the adapter's table and indexes if they are missing. */
export async function createTables(pool: pg.Pool): Promise<void> {
  await pool.query(SCHEMA);
}

/** A pool for the adapter, named so that its backends are known. */
export function createPool(url: string, max: number): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max, application_name: APPLICATION_NAME });
  pool.on('error', () => {});
  return pool;
}

const str = (v: unknown) => (typeof v === 'string' ? v : null);

/** The adapter class the provider instantiates once per model (`adapter` in its configuration). */
export function postgresAdapter(pool: pg.Pool) {
  const run = async (name: string, text: string, values: unknown[]) => pool.query<Row>({ name, text, values });
  const payloadOf = (rows: Row[]): Payload | undefined => {
    const row = rows[0];
    if (!row) return undefined;
    // `consumed` is part of the payload the provider expects back after consume().
    return row.consumed === null ? row.payload : { ...row.payload, consumed: Number(row.consumed) };
  };

  return class PostgresAdapter {
    constructor(readonly model: string) {}

    async upsert(id: string, payload: Payload, expiresIn?: number): Promise<void> {
      const values = [this.model, id, payload, str(payload.grantId), str(payload.userCode), str(payload.uid), expiresIn ?? null];
      await run('oidc_upsert', UPSERT, values);
    }

    async find(id: string): Promise<Payload | undefined> {
      return payloadOf((await run('oidc_find', FIND, [this.model, id])).rows);
    }

    async findByUid(uid: string): Promise<Payload | undefined> {
      return payloadOf((await run('oidc_find_uid', FIND_BY_UID, [this.model, uid])).rows);
    }

    async findByUserCode(userCode: string): Promise<Payload | undefined> {
      return payloadOf((await run('oidc_find_user_code', FIND_BY_USER_CODE, [this.model, userCode])).rows);
    }

    async consume(id: string): Promise<void> {
      await run('oidc_consume', CONSUME, [this.model, id]);
    }

    async destroy(id: string): Promise<void> {
      await run('oidc_destroy', DESTROY, [this.model, id]);
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      await run('oidc_revoke_grant', REVOKE_BY_GRANT, [this.model, grantId]);
    }
  };
}
