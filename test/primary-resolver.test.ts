/**
 * Finding the writable node of a multi-host DATABASE_URL, on the test
 * PostgreSQL server: a node that is down or read-only is passed over; with
 * no writable node at all, and for a write refused as read-only (25006),
 * requests get 503 with Retry-After, never a 500.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { loadConfig } from '../src/config/load.js';
import { isAppError } from '../src/errors.js';
import { openDatabase } from '../src/storage/postgres/drivers.js';
import { parseMultiHostUrl } from '../src/storage/postgres/primary.js';
import { redisTarget } from '../src/storage/redis/target.js';
import { startTcpProxy } from './tcp-proxy.js';
import { createDatabase, createTestApp, freePort, json, PG_SERVER, register, type TestApp } from './helpers.js';

/** `url` with a node that nothing listens on listed before its own host. */
async function withDeadNodeFirst(url: string): Promise<string> {
  const u = new URL(url);
  const hosts = `127.0.0.1:${await freePort()},${u.host}`;
  return `${url.replace(`@${u.host}`, `@${hosts}`)}?target_session_attrs=read-write`;
}

const terminate = (db: string) => `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${db}'`;

async function onServer(...statements: string[]): Promise<void> {
  const c = new pg.Client({ connectionString: PG_SERVER });
  await c.connect();
  try {
    for (const s of statements) await c.query(s);
  } finally {
    await c.end();
  }
}

describe('multi-host database URLs', () => {
  it('are accepted by the configuration, with the Sentinel form of REDIS_URL; a malformed host list is not', () => {
    const c = loadConfig({
      DATABASE_URL: 'postgres://u:p@10.0.0.1:5432,10.0.0.2:5433/meridian?target_session_attrs=read-write',
      REDIS_URL: 'redis+sentinel://10.0.0.1:26379,10.0.0.2:26379/meridian',
    });
    assert.match(c.databaseUrl!, /10\.0\.0\.2:5433/);
    assert.throws(() => loadConfig({ DATABASE_URL: 'postgres://10.0.0.1:5432,:x/meridian' }), /DATABASE_URL must be a URL/);
  });

  it('name each node with the rest of the URL; only read-write targeting is taken', () => {
    const m = parseMultiHostUrl('postgres://u:p%40ss@db-a,[::1]:5433/meridian?sslmode=disable&target_session_attrs=primary');
    assert.deepEqual(m.nodes, [
      { host: 'db-a', port: 5432 },
      { host: '::1', port: 5433 },
    ]);
    assert.equal(m.urlFor(m.nodes[1]!), 'postgres://u:p%40ss@[::1]:5433/meridian?sslmode=disable');
    assert.throws(() => parseMultiHostUrl('postgres://a,b/db?target_session_attrs=read-only'), /not supported/);
  });

  it('the Sentinel form of REDIS_URL names the Sentinels, the master and its password', () => {
    const t = redisTarget('redis+sentinel://:secret@127.0.0.1:26380,127.0.0.1/cache?db=2');
    assert.equal(t.kind, 'sentinel');
    if (t.kind !== 'sentinel') return;
    assert.deepEqual(t.options.sentinels, [
      { host: '127.0.0.1', port: 26380 },
      { host: '127.0.0.1', port: 26379 },
    ]);
    assert.equal(t.options.name, 'cache');
    assert.equal(t.options.password, 'secret');
    assert.equal(t.options.db, 2);
    assert.throws(() => redisTarget('redis+sentinel://127.0.0.1:26379/'), /master name/);
  });

  it('the cluster form of REDIS_URL lists nodes, with the default port where none is given, and takes no database', () => {
    const t = redisTarget('redis+cluster://:secret@127.0.0.1:7001,127.0.0.2');
    assert.equal(t.kind, 'cluster');
    if (t.kind !== 'cluster') return;
    assert.deepEqual(t.nodes, [
      { host: '127.0.0.1', port: 7001 },
      { host: '127.0.0.2', port: 6379 },
    ]);
    assert.equal(t.options.password, 'secret');
    assert.throws(() => redisTarget('redis+cluster://127.0.0.1:7001/2'), /no database/);
  });
});

describe('the primary of a multi-host URL', () => {
  let t: TestApp;
  let readOnly: { url: string; drop: () => Promise<void> };
  before(async () => {
    t = await createTestApp();
    readOnly = await createDatabase('meridian_ro');
    await onServer(`ALTER DATABASE ${new URL(readOnly.url).pathname.slice(1)} SET default_transaction_read_only = on`);
  });
  after(async () => {
    await t.close();
    await readOnly.drop();
  });

  it('is the node that answers when the first listed is down', async () => {
    const app = await createTestApp({ databaseUrl: await withDeadNodeFirst(t.config.databaseUrl!) });
    try {
      assert.equal((await register(app.app, 'found-the-primary')).statusCode, 201);
    } finally {
      await app.close();
    }
  });

  it('is looked for again when the node in use goes away: the next node, with at most a 503 meanwhile', async () => {
    const direct = new URL(t.config.databaseUrl!);
    const proxy = await startTcpProxy(direct.hostname, Number(direct.port || 5432));
    const url = `${t.config.databaseUrl!.replace(`@${direct.host}`, `@127.0.0.1:${proxy.port},${direct.host}`)}?target_session_attrs=read-write`;
    const app = await createTestApp({ databaseUrl: url });
    try {
      assert.equal((await register(app.app, 'via-the-first-node')).statusCode, 201);
      proxy.cut();
      // Its idle connections dropping is noticed first, so this request may already reach the second node.
      const during = await register(app.app, 'while-it-goes');
      if (during.statusCode !== 201) {
        assert.equal(during.statusCode, 503, during.body);
        assert.ok(during.headers['retry-after']);
      }
      assert.equal((await register(app.app, 'via-the-second-node')).statusCode, 201);
      const names = ['via-the-first-node', 'while-it-goes', 'via-the-second-node'];
      const { rows } = await app.db.query<{ username: string }>('SELECT username FROM users WHERE username = ANY($1)', [names]);
      assert.equal(rows.length, during.statusCode === 201 ? 3 : 2, 'what was acknowledged is there');
    } finally {
      await app.close();
      await proxy.close();
    }
  });

  it('is none while every node is down or read-only: 503 with a short Retry-After', async () => {
    const db = await openDatabase({ databaseUrl: await withDeadNodeFirst(readOnly.url), dataDir: '/nonexistent', poolSize: 2 });
    try {
      await assert.rejects(
        () => db.query('SELECT 1'),
        (err) => isAppError(err, 'temporarily_unavailable') && err.retryAfter === 2,
      );
    } finally {
      await db.close();
    }
  });

  it('a write refused as read-only (a demoted primary) is a 503, not a 500', async () => {
    const name = new URL(t.config.databaseUrl!).pathname.slice(1);
    // Sessions opened from now on are read-only, as on a primary demoted to standby; the app's are ended.
    await onServer(`ALTER DATABASE ${name} SET default_transaction_read_only = on`, terminate(name));
    try {
      const res = await register(t.app, 'on-a-read-only-node');
      assert.equal(res.statusCode, 503, res.body);
      assert.ok(res.headers['retry-after']);
      assert.equal(json(res).error, 'temporarily_unavailable');
    } finally {
      await onServer(`ALTER DATABASE ${name} RESET default_transaction_read_only`, terminate(name));
    }
  });
});
