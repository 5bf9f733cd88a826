import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hash } from '@node-rs/argon2';
import type { Db } from '../src/storage/postgres/db.js';
import { storageOn } from '../src/storage/storage.js';
import { openDatabase } from '../src/storage/postgres/drivers.js';
import { listMigrations, migrate } from '../src/storage/postgres/migrate.js';
import { BACKENDS, createDatabase, createTestApp, json, PASSWORD, post } from './helpers.js';

const BEFORE = 13;

// Users as the previous release stored them, oldest first. Under the old rule
// (NFKC, then toLowerCase) every key differs; under full case folding
// straße/STRASSE and abcqeqqς/abcqeqqσ collide.
const USERS = [
  { id: 'local_1', username: 'straße' },
  { id: 'local_2', username: 'abcqeqqς' },
  { id: 'local_3', username: 'STRASSE' },
  { id: 'local_4', username: 'abcqeqqσ' },
  { id: 'local_5', username: 'Maß' },
  { id: 'local_6', username: 'Plain' },
];
const oldKey = (name: string) => name.normalize('NFKC').toLowerCase();

async function seedOldRows(db: Db): Promise<void> {
  const passwordHash = await hash(PASSWORD);
  for (const [i, u] of USERS.entries()) {
    const at = new Date(Date.UTC(2026, 0, 1 + i));
    await db.query(
      `INSERT INTO users (id, username, username_normalized, password_hash, home_region, created_at, updated_at, password_changed_at)
       VALUES ($1, $2, $3, $4, 'local', $5, $5, $5)`,
      [u.id, u.username, oldKey(u.username), passwordHash, at],
    );
    await db.query("INSERT INTO username_claims (username_normalized, user_id, home_region, claimed_at) VALUES ($1, $2, 'local', $3)", [
      oldKey(u.username),
      u.id,
      at,
    ]);
  }
}

async function withOldDatabase(backend: string, fn: (db: Db, url: string) => Promise<void>): Promise<void> {
  const created = backend === 'postgres' ? await createDatabase() : undefined;
  const url = created?.url ?? 'memory://';
  const db = await openDatabase({ databaseUrl: url, dataDir: '/nonexistent', poolSize: 2 });
  try {
    await migrate(db, { through: BEFORE });
    await seedOldRows(db);
    await fn(db, url);
  } finally {
    await db.close();
    await created?.drop();
  }
}

for (const backend of BACKENDS) {
  describe(`username case-folding migration (${backend})`, () => {
    it('recomputes keys; the oldest account keeps a colliding name, later ones are listed and logged', async () => {
      await withOldDatabase(backend, async (db) => {
        const warnings: object[] = [];
        const applied = await migrate(db, { log: { warn: (fields) => warnings.push(fields) } });
        assert.deepEqual(
          applied,
          listMigrations()
            .filter((m) => m.version > BEFORE)
            .map((m) => m.name),
        );

        const users = await db.query<{ id: string; username_normalized: string }>('SELECT id, username_normalized FROM users ORDER BY id');
        assert.deepEqual(Object.fromEntries(users.rows.map((r) => [r.id, r.username_normalized])), {
          local_1: 'strasse',
          local_2: 'abcqeqqσ',
          local_3: 'strasse#local_3',
          local_4: 'abcqeqqσ#local_4',
          local_5: 'mass',
          local_6: 'plain',
        });
        const claims = await db.query<{ user_id: string; username_normalized: string }>(
          'SELECT user_id, username_normalized FROM username_claims ORDER BY user_id',
        );
        assert.deepEqual(
          claims.rows.map((r) => r.username_normalized),
          users.rows.map((r) => r.username_normalized),
        );

        const lost = await db.query('SELECT source, user_id, username, wanted_key, kept_by FROM username_collisions ORDER BY source, user_id');
        assert.deepEqual(lost.rows, [
          { source: 'username_claims', user_id: 'local_3', username: null, wanted_key: 'strasse', kept_by: 'local_1' },
          { source: 'username_claims', user_id: 'local_4', username: null, wanted_key: 'abcqeqqσ', kept_by: 'local_2' },
          { source: 'users', user_id: 'local_3', username: 'STRASSE', wanted_key: 'strasse', kept_by: 'local_1' },
          { source: 'users', user_id: 'local_4', username: 'abcqeqqσ', wanted_key: 'abcqeqqσ', kept_by: 'local_2' },
        ]);
        assert.deepEqual(warnings, [
          { table: 'username_claims', userId: 'local_3', keptBy: 'local_1' },
          { table: 'username_claims', userId: 'local_4', keptBy: 'local_2' },
          { table: 'users', userId: 'local_3', keptBy: 'local_1' },
          { table: 'users', userId: 'local_4', keptBy: 'local_2' },
        ]);
        assert.deepEqual(await migrate(db), [], 'a second run has nothing to do');
      });
    });

    it('after it, logins find the account that kept the name under any case-folded spelling', async () => {
      await withOldDatabase(backend, async (db, url) => {
        await migrate(db);
        const t = await createTestApp({ backend, ...(backend === 'postgres' ? { databaseUrl: url } : { services: { openStorage: (o) => storageOn(db, o) } }) });
        try {
          for (const [name, id] of [
            ['STRASSE', 'local_1'],
            ['Straße', 'local_1'],
            ['ABCQEQQΣ', 'local_2'],
            ['MASS', 'local_5'],
            ['plain', 'local_6'],
          ]) {
            const res = await post(t.app, '/v1/auth/login', { username: name, password: PASSWORD });
            assert.equal(res.statusCode, 200, name);
            const me = await t.app.inject({ method: 'GET', url: '/v1/auth/me', headers: { authorization: `Bearer ${json(res).access_token}` } });
            assert.equal(json(me).id, id, name);
          }
          assert.equal((await post(t.app, '/v1/auth/register', { username: 'Strasse', password: PASSWORD })).statusCode, 409);
        } finally {
          await t.close();
        }
      });
    });
  });
}
