import { readdirSync, readFileSync } from 'node:fs';
import type { Db, MigrationLog, MigrationStep } from './db.js';
import { recomputeUsernameKeys } from './migrations/014_username_case_folding.js';

const dir = new URL('./migrations/', import.meta.url);

// Any constant works; it only has to be the same in every process.
const MIGRATION_LOCK = 7_146_205_391;

export type { MigrationLog, MigrationStep };

const STEPS: Readonly<Record<number, MigrationStep>> = { 14: recomputeUsernameKeys };

export interface Migration {
  version: number;
  name: string;
  sql: string;
  step?: MigrationStep;
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
      step: STEPS[Number(file.split('_', 1)[0])],
    }));
}

export interface MigrateOptions {
  /** Where warnings for the operator go (accounts a migration had to change); default: nowhere. */
  log?: MigrationLog;
  /** Stop after this version (a database as an older release left it, in tests). */
  through?: number;
}

/**
 * Applies pending migrations in one transaction under an advisory lock, so
 * servers starting together wait for each other instead of racing; the
 * second finds nothing left to do. Returns the names it applied.
 */
export async function migrate(db: Db, opts: MigrateOptions = {}): Promise<string[]> {
  const log = opts.log ?? { warn() {} };
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
      if (applied.has(m.version) || m.version > (opts.through ?? Infinity)) continue;
      await (m.step ? m.step(tx, m.sql, log) : tx.exec(m.sql));
      await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
      ran.push(m.name);
    }
    return ran;
  });
}
