/**
 * Seeding for bench/scale.ts: N users and N live sessions (one per user)
 * spread over a region's shards exactly as the service places them.
 *
 * Why INSERT ... SELECT FROM generate_series, run inside each shard: the
 * `pg` client has no COPY of its own (pg-copy-streams is not installed) and
 * COPY FROM PROGRAM runs on the server as a superuser, so the fastest correct
 * path is to have PostgreSQL make the rows itself. No row crosses the
 * network; each shard builds only its own rows, the four shards at once.
 *
 * Usernames are `scale` + the user's number as 8 digits, so the FNV-1a of the
 * name (util/slots.ts, 32 bits over UTF-16 code units; these are ASCII) is a
 * fixed chain of 13 steps: the 5 of the prefix are folded in here, the 8
 * digit steps are one bigint expression in SQL (h < 2^32 times a prime
 * < 2^25 fits in 63 bits, then masked back to 32). The slot is that hash
 * % 1024, the shard floor(slot * shards / 1024), as in shards/placement.ts.
 *
 * Ids are in the real format: `<region>_<10 time digits><2 slot digits><14
 * digits>`. The last 14 are the user's number in base 32 (unique, which is
 * all the service asks of the random part); a session has user i's slot and
 * number, and a time part one millisecond later. Every row carries the same
 * argon2id hash of one password, computed once.
 *
 * Secondary indexes and the sessions -> users foreign key are dropped before
 * the load and rebuilt after it from their own definitions (one sort per
 * index instead of N random insertions; one join instead of N checks), then
 * the tables are analyzed.
 */
import pg from 'pg';
import { SLOTS } from '../src/util/slots.js';

const CROCKFORD = '0123456789abcdefghjkmnpqrstvwxyz';

/** The name of user `i` (1-based), and the slot the service computes from it. */
export const nameOf = (i: number) => `scale${String(i).padStart(8, '0')}`;

/** The 10 id digits of a time, as util/runtime.ts newId writes them. */
function timeDigits(ms: number): string {
  let out = '';
  for (let i = 0; i < 10; i++) {
    out = CROCKFORD[ms % 32] + out;
    ms = Math.floor(ms / 32);
  }
  return out;
}

/** The 14 trailing id digits of user `i`: its number in base 32. */
export function tailOf(i: number): string {
  let out = '';
  for (let k = 0; k < 14; k++) out = CROCKFORD[Math.floor(i / 32 ** k) % 32] + out;
  return out;
}

/** The FNV-1a state after the constant `scale` prefix. */
function prefixState(): number {
  let h = 0x811c9dc5;
  for (const c of 'scale') h = Math.imul(h ^ c.charCodeAt(0), 0x01000193);
  return h >>> 0;
}

/** SQL: the FNV-1a hash of nameOf(i), i a bigint column. */
function hashSql(): string {
  let h = String(prefixState());
  for (let d = 7; d >= 0; d--) h = `(((${h}) # ((i / ${10 ** d}) % 10 + 48)) * 16777619) & 4294967295`;
  return h;
}

/** SQL: the 14 trailing digits of user i (N < 32^5, so the first 9 are 0). */
const tailSql = () => `'000000000' || ${[4, 3, 2, 1, 0].map((k) => `substr('${CROCKFORD}', ((i >> ${5 * k}) & 31)::int + 1, 1)`).join(' || ')}`;

export interface Seeded {
  region: string;
  /** When the ids' time part says the users were made (sessions: one ms later). */
  at: number;
  /** Each shard's user count. */
  perShard: number[];
}

/** The user id and session id of user `i` whose name has `slot`. */
export function idsOf(s: Seeded, i: number, slot: number): { userId: string; sessionId: string } {
  const digits = CROCKFORD[slot >> 5]! + CROCKFORD[slot & 31]!;
  return {
    userId: `${s.region}_${timeDigits(s.at)}${digits}${tailOf(i)}`,
    sessionId: `${s.region}_${timeDigits(s.at + 1)}${digits}${tailOf(i)}`,
  };
}

/** Drops the tables' indexes (but the primary keys) and the foreign key; returns how to rebuild them. */
async function dropIndexes(db: pg.Client): Promise<string[]> {
  const fks = await db.query<{ name: string; def: string }>(
    `SELECT conname AS name, pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = 'sessions'::regclass AND contype = 'f'`,
  );
  const idx = await db.query<{ name: string; def: string }>(
    `SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS def FROM pg_index i
     WHERE i.indrelid IN ('users'::regclass, 'sessions'::regclass) AND NOT i.indisprimary`,
  );
  for (const f of fks.rows) await db.query(`ALTER TABLE sessions DROP CONSTRAINT ${f.name}`);
  for (const x of idx.rows) await db.query(`DROP INDEX ${x.name}`);
  return [...idx.rows.map((x) => x.def), ...fks.rows.map((f) => `ALTER TABLE sessions ADD CONSTRAINT ${f.name} ${f.def}`)];
}

/** Loads users 1..n into every shard (URLs in placement order); returns what ids look like. */
export async function seed(urls: readonly string[], n: number, region: string, passwordHash: string): Promise<Seeded> {
  if (n >= 32 ** 5 || n >= 1e8) throw new RangeError('at most 33,554,431 users');
  const at = Date.now();
  const shards = urls.length;
  const time = timeDigits(at);
  const sessionTime = timeDigits(at + 1);
  const slot = `((${hashSql()}) % ${SLOTS})`;
  const digits = `substr('${CROCKFORD}', (slot >> 5)::int + 1, 1) || substr('${CROCKFORD}', (slot & 31)::int + 1, 1)`;
  const perShard = await Promise.all(
    urls.map(async (url, shard) => {
      const db = new pg.Client({ connectionString: url });
      await db.connect();
      try {
        await db.query(`SET maintenance_work_mem = '512MB'`);
        const rebuild = await dropIndexes(db);
        // Every shard walks 1..n and keeps its own slots: hashing is cheap beside writing a row.
        await db.query(`CREATE TEMP TABLE seed_rows AS
          SELECT i, 'scale' || lpad(i::text, 8, '0') AS name, ${digits} || ${tailSql()} AS tail
          FROM (SELECT i, ${slot} AS slot FROM generate_series(1, ${n}::bigint) i) s
          WHERE (slot * ${shards}) / ${SLOTS} = ${shard}`);
        const users = await db.query(
          `INSERT INTO users (id, username, username_normalized, password_hash, home_region, created_at, updated_at, password_changed_at)
           SELECT $1 || tail, name, name, $2, $3, to_timestamp($4 / 1000.0), to_timestamp($4 / 1000.0), to_timestamp($4 / 1000.0) FROM seed_rows`,
          [`${region}_${time}`, passwordHash, region, at],
        );
        await db.query(
          `INSERT INTO sessions (id, user_id, region, generation, created_at, expires_at, last_used_at)
           SELECT $1 || tail, $2 || tail, $3, 0, now(), now() + interval '30 days', now() FROM seed_rows`,
          [`${region}_${sessionTime}`, `${region}_${time}`, region],
        );
        for (const sql of rebuild) await db.query(sql);
        await db.query('ANALYZE users');
        await db.query('ANALYZE sessions');
        return users.rowCount ?? 0;
      } finally {
        await db.end();
      }
    }),
  );
  return { region, at, perShard };
}

/** pg_total_relation_size of users and of sessions, summed over the shards. */
export async function tableBytes(urls: readonly string[]): Promise<{ users: number; sessions: number }> {
  const sizes = await Promise.all(
    urls.map(async (url) => {
      const db = new pg.Client({ connectionString: url });
      await db.connect();
      try {
        const r = await db.query<{ u: string; s: string }>(`SELECT pg_total_relation_size('users') AS u, pg_total_relation_size('sessions') AS s`);
        return { users: Number(r.rows[0]!.u), sessions: Number(r.rows[0]!.s) };
      } finally {
        await db.end();
      }
    }),
  );
  return { users: sizes.reduce((a, s) => a + s.users, 0), sessions: sizes.reduce((a, s) => a + s.sessions, 0) };
}
