/**
 * Every statement of the SQL registry runs as a named prepared statement. A
 * migration that changes the type of a column such a statement returns makes
 * PostgreSQL refuse the prepared copy ("cached plan must not change result
 * type"); running processes must go on answering, on single statements and
 * in transactions alike.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { openDatabase } from '../src/storage/postgres/drivers.js';
import type { Db } from '../src/storage/postgres/db.js';
import { migrate } from '../src/storage/postgres/migrate.js';
import { SQL } from '../src/storage/postgres/sql.js';
import { createDatabase } from './helpers.js';

describe('named prepared statements after a migration', () => {
  let url: string;
  let drop: () => Promise<void>;
  let db: Db;
  let admin: pg.Client;

  before(async () => {
    ({ url, drop } = await createDatabase());
    // Two connections, so that a retry may meet a second stale copy.
    db = await openDatabase({ databaseUrl: url, dataDir: '/nonexistent', poolSize: 2 });
    await migrate(db);
    await db.query(SQL.insertUser, ['u1', 'Alice', 'alice', 'hash', 'local', new Date()]);
    admin = new pg.Client({ connectionString: url });
    await admin.connect();
  });
  after(async () => {
    await admin.end();
    await db.close();
    await drop();
  });

  /** Prepares the statement on both connections (two at once take both). */
  const warm = async (run: () => Promise<unknown>) => {
    for (let i = 0; i < 3; i++) await Promise.all([run(), run()]);
  };
  const find = async () => (await db.query<{ username: string }>(SQL.findUserByUsername, ['alice'])).rows[0]?.username;
  const findInTx = () => db.transaction(async (tx) => (await tx.query<{ username: string }>(SQL.findUserByUsername, ['alice'])).rows[0]?.username);

  it('a single statement still answers when a returned column changed type', async () => {
    await warm(find);
    await admin.query('ALTER TABLE users ALTER COLUMN username TYPE varchar(64)');
    assert.deepEqual(await Promise.all([find(), find(), find()]), ['Alice', 'Alice', 'Alice']);
  });

  it('a transaction still commits when a returned column changed type', async () => {
    await warm(findInTx);
    await admin.query('ALTER TABLE users ALTER COLUMN username TYPE text');
    assert.deepEqual(await Promise.all([findInTx(), findInTx()]), ['Alice', 'Alice']);
    assert.equal(await findInTx(), 'Alice');
  });

  it('any other error still reaches the caller', async () => {
    await assert.rejects(db.query(SQL.insertUser, ['u2', 'x', null, 'hash', 'local', new Date()]), /null value/);
  });
});
