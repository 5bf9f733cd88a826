/**
 * Which PostgreSQL processes work for whom, from pg_stat_activity: the
 * backends connected to one database (optionally only, or all but, those of
 * one application name), and the server's shared processes (WAL writer,
 * checkpointer, background writer), which every client's commits keep busy.
 * All of them are called `postgres` in /proc, so the command name alone
 * cannot tell one server's share from another's, or from other users of the
 * same PostgreSQL.
 */
import type pg from 'pg';

export interface BackendFilter {
  database: string;
  application?: string;
  /** Every application of the database but this one. */
  notApplication?: string;
}

/** A `find` for a cpu.ts group: the pids of the database's backends now. */
export function backendsOf(admin: pg.Client, f: BackendFilter): () => Promise<number[]> {
  return async () => {
    const { rows } = await admin.query<{ pid: number }>(
      `SELECT pid FROM pg_stat_activity
        WHERE datname = $1 AND pid <> pg_backend_pid()
          AND ($2::text IS NULL OR application_name = $2) AND ($3::text IS NULL OR application_name <> $3)`,
      [f.database, f.application ?? null, f.notApplication ?? null],
    );
    return rows.map((r) => r.pid);
  };
}

/** A `find` for the server's processes that belong to no database. */
export function sharedProcesses(admin: pg.Client): () => Promise<number[]> {
  return async () => {
    const { rows } = await admin.query<{ pid: number }>(
      `SELECT pid FROM pg_stat_activity WHERE backend_type IN ('walwriter', 'checkpointer', 'background writer', 'autovacuum launcher')`,
    );
    return rows.map((r) => r.pid);
  };
}
