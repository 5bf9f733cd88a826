import { normalizeUsername } from '../../../auth/usernames.js';
import type { MigrationLog, Queryable } from '../db.js';

/**
 * The JavaScript half of 014_username_case_folding.sql: computes the new key
 * of every user and every directory claim into temporary tables, runs the
 * SQL that settles collisions and writes the keys, then logs each account
 * that lost its name.
 */

const BATCH = 1000;

interface NameRow {
  ref: string;
  name: string;
}

// Keyset pages, so a large users table is never held in memory at once.
async function fill(tx: Queryable, select: string, insert: string): Promise<void> {
  for (let after = ''; ; ) {
    const { rows } = await tx.query<NameRow>(select, [after, BATCH]);
    if (!rows.length) return;
    await tx.query(insert, [rows.map((r) => r.ref), rows.map((r) => normalizeUsername(r.name))]);
    after = rows.at(-1)!.ref;
  }
}

export async function recomputeUsernameKeys(tx: Queryable, sql: string, log: MigrationLog): Promise<void> {
  await tx.exec(`CREATE TEMP TABLE new_user_keys (id text PRIMARY KEY, key text NOT NULL) ON COMMIT DROP;
                 CREATE TEMP TABLE new_claim_keys (old_key text PRIMARY KEY, key text NOT NULL) ON COMMIT DROP`);
  await fill(
    tx,
    'SELECT id AS ref, username AS name FROM users WHERE id > $1 ORDER BY id LIMIT $2',
    'INSERT INTO new_user_keys (id, key) SELECT * FROM unnest($1::text[], $2::text[])',
  );
  // A claim keeps no display name, but its old key folds to the same new key
  // as the name it was made from (test/usernames.test.ts checks this).
  await fill(
    tx,
    'SELECT username_normalized AS ref, username_normalized AS name FROM username_claims WHERE username_normalized > $1 ORDER BY username_normalized LIMIT $2',
    'INSERT INTO new_claim_keys (old_key, key) SELECT * FROM unnest($1::text[], $2::text[])',
  );
  await tx.exec(sql);
  const lost = await tx.query<{ source: string; user_id: string; kept_by: string }>(
    'SELECT source, user_id, kept_by FROM username_collisions ORDER BY source, user_id',
  );
  for (const row of lost.rows) {
    log.warn(
      { table: row.source, userId: row.user_id, keptBy: row.kept_by },
      "username now collides with an older account's: this account cannot log in by name until renamed (see username_collisions)",
    );
  }
}
