import { readdirSync, readFileSync } from 'node:fs';
import type { Db } from './db.js';

const dir = new URL('./migrations/', import.meta.url);

// Any constant works; it only has to be the same in every process.
const MIGRATION_LOCK = 7_146_205_391;

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** The forward-only migrations shipped with this build, in order. */
export function listMigrations(): Migration[] {
  return readdirSync(dir)
    .filter((f) => /^\d+_.+\.sql$/.test(f))
    .sort()
    .map((file) => ({
      version: Number(file.split('_', 1)[0]),
      name: file.replace(/\.sql$/, ''),
      sql: readFileSync(new URL(file, dir), 'utf8'),
    }));
}

/**
 * Applies pending migrations in one transaction under an advisory lock, so
 * servers starting together wait for each other instead of racing; the
 * second finds nothing left to do. Returns the names it applied.
 */
export async function migrate(db: Db): Promise<string[]> {
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await tx.exec(
      `CREATE TABLE IF NOT EXISTS schema_migrations (
         version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const done = await tx.query<{ version: number }>('SELECT version FROM schema_migrations');
    const applied = new Set(done.rows.map((r) => r.version));
    const ran: string[] = [];
    for (const m of listMigrations()) {
      if (applied.has(m.version)) continue;
      await tx.exec(m.sql);
      await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
      ran.push(m.name);
    }
    return ran;
  });
}
