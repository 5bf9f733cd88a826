import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openDatabase } from '../src/storage/postgres/drivers.js';
import { listMigrations, migrate } from '../src/storage/postgres/migrate.js';
import { createDatabase } from './helpers.js';

describe('migrations', () => {
  it('servers starting together apply each migration exactly once', async () => {
    const db = await createDatabase();
    const conns = await Promise.all(Array.from({ length: 4 }, () => openDatabase({ databaseUrl: db.url, dataDir: '/nonexistent', poolSize: 2 })));
    try {
      const applied = await Promise.all(conns.map((c) => migrate(c)));
      const all = applied.flat();
      assert.deepEqual(
        all.sort(),
        listMigrations()
          .map((m) => m.name)
          .sort(),
      );
      const { rows } = await conns[0]!.query<{ n: number }>('SELECT count(*)::int AS n FROM schema_migrations');
      assert.equal(rows[0]!.n, listMigrations().length);
      assert.deepEqual(await migrate(conns[0]!), [], 'a second run has nothing to do');
    } finally {
      for (const c of conns) await c.close();
      await db.drop();
    }
  });

  it('the same SQL runs on PGlite', async () => {
    const db = await openDatabase({ databaseUrl: 'memory://', dataDir: '/nonexistent', poolSize: 1 });
    try {
      assert.equal((await migrate(db)).length, listMigrations().length);
      assert.deepEqual(await migrate(db), []);
    } finally {
      await db.close();
    }
  });
});
