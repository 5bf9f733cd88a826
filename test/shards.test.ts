import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { normalizeUsername } from '../src/auth/usernames.js';
import { openStorage } from '../src/storage/storage.js';
import { SLOTS, slotOfId, slotOfName } from '../src/util/slots.js';
import { startWorkerTier } from '../src/jobs/worker-tier.js';
import { bearer, createDatabase, createTestApp, eventually, json, login, metricValue, post, refresh, register, type TestApp, tierDeps } from './helpers.js';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';

/**
 * A region over three PostgreSQL databases (main, s1, and s2 behind a proxy
 * the test can cut): rows land where the slot in their id says, a user's
 * sessions with the user, each request on one shard, and a shard that is
 * down fails only its own slots.
 */
describe('a region over three shards', () => {
  const dbs: { url: string; drop: () => Promise<void> }[] = [];
  const clients: pg.Client[] = [];
  let proxy: TcpProxy;
  let t: TestApp;
  const users: { username: string; id: string; shard: number }[] = [];

  /** Which shard the even split gives a slot: main, s1, s2. */
  const shardOfSlot = (slot: number): number => Math.floor((slot * 3) / SLOTS);

  before(async () => {
    for (let i = 0; i < 3; i++) dbs.push(await createDatabase('meridian_shard'));
    const s2 = new URL(dbs[2]!.url);
    proxy = await startTcpProxy(s2.hostname, Number(s2.port));
    s2.port = String(proxy.port);
    t = await createTestApp({
      databaseUrl: dbs[0]!.url,
      env: { MERIDIAN_SHARDS: `s1=${dbs[1]!.url} s2=${s2.toString()}` },
      services: { openStorage: undefined },
    });
    for (const d of dbs) {
      const c = new pg.Client({ connectionString: d.url });
      await c.connect();
      clients.push(c);
    }
  });

  after(async () => {
    await t?.close();
    for (const c of clients) await c.end();
    await proxy?.close();
    for (const d of dbs) await d.drop();
  });

  it('migrates every shard and places each user by the slot of the username, in the id', async () => {
    assert.deepEqual(t.services.storage.shardNames, ['main', 's1', 's2']);
    for (let i = 0; i < 30; i++) {
      const username = `placed-${i}`;
      const res = await register(t.app, username);
      assert.equal(res.statusCode, 201, res.body);
      const id = json<{ id: string }>(res).id;
      const slot = slotOfName(normalizeUsername(username));
      assert.equal(slotOfId(id), slot, 'the id carries the slot of the username');
      users.push({ username, id, shard: shardOfSlot(slot) });
    }
    for (const [i, c] of clients.entries()) {
      const { rows } = await c.query<{ id: string }>('SELECT id FROM users');
      const here = users.filter((u) => u.shard === i).map((u) => u.id);
      assert.deepEqual(rows.map((r) => r.id).sort(), here.sort(), `users on shard ${i}`);
      assert.ok(here.length >= 4, `shard ${i} holds ${here.length} of 30 users`);
      const migrated = await c.query('SELECT count(*)::int AS n FROM schema_migrations');
      assert.ok((migrated.rows[0] as { n: number }).n > 10, `shard ${i} is migrated`);
    }
  });

  it("keeps a user's sessions on the user's shard, and serves login, refresh, /me and logout-everywhere from it", async () => {
    for (const u of users.slice(0, 12)) {
      const a = await login(t.app, u.username);
      const b = await login(t.app, u.username);
      assert.equal(slotOfId(a.refresh_token.split('.')[0]!), slotOfId(u.id), 'the session id carries the user slot');
      const r = await refresh(t.app, a.refresh_token);
      assert.equal(r.statusCode, 200, r.body);
      const me = await t.app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(a.access_token) });
      assert.equal(me.statusCode, 200, me.body);
      for (const [i, c] of clients.entries()) {
        const { rows } = await c.query<{ n: number }>('SELECT count(*)::int AS n FROM sessions WHERE user_id = $1', [u.id]);
        assert.equal(rows[0]!.n, i === u.shard ? 2 : 0, `sessions of ${u.username} on shard ${i}`);
      }
      const out = await post(t.app, '/v1/auth/logout', { all_sessions: true }, bearer(json<{ access_token: string }>(r).access_token));
      assert.equal(out.statusCode, 204, out.body);
      const { rows } = await clients[u.shard]!.query<{ n: number }>('SELECT count(*)::int AS n FROM sessions WHERE user_id = $1 AND revoked_at IS NULL', [
        u.id,
      ]);
      assert.equal(rows[0]!.n, 0, 'logout everywhere ended both sessions on the one shard');
      const ended = await refresh(t.app, b.refresh_token);
      assert.equal(ended.statusCode, 400);
      assert.equal(json(ended).error, 'invalid_grant');
    }
    // Every shard ran statements, and none but the main one holds signing keys.
    for (const name of ['main', 's1', 's2']) {
      assert.ok((await metricValue(t.services.metrics.shardQueries, { shard: name })) > 0, `statements on ${name}`);
    }
    const keys = await Promise.all(clients.map((c) => c.query<{ n: number }>('SELECT count(*)::int AS n FROM signing_keys')));
    assert.deepEqual(
      keys.map((k) => k.rows[0]!.n > 0),
      [true, false, false],
    );
  });

  it('names a shard that is down in /readyz, answers its slots 503, and serves the others', async () => {
    const onS2 = users.find((u) => u.shard === 2)!;
    const onS1 = users.find((u) => u.shard === 1)!;
    const kept = await login(t.app, onS2.username);
    const { stats, outbox } = t.services.storage;
    const gauges = async () => [await stats.activeSessions(t.clock.now(), 3600), await outbox.backlog()];
    const before = await gauges();
    proxy.cut();
    try {
      // The gauges' sums keep s2's part as last read, the others' current, rather than failing whole.
      assert.deepEqual(await gauges(), before);
      const ready = await t.app.inject({ method: 'GET', url: '/readyz' });
      assert.equal(ready.statusCode, 503);
      const checks = json<{ checks: Record<string, string> }>(ready).checks;
      assert.equal(checks['shard:s2'], 'down');
      assert.equal(checks['shard:s1'], 'ok');
      assert.equal(checks['shard:main'], 'ok');

      const down = await refresh(t.app, kept.refresh_token);
      assert.equal(down.statusCode, 503, down.body);
      assert.ok(down.headers['retry-after']);
      const other = await login(t.app, onS1.username);
      assert.ok((await refresh(t.app, other.refresh_token)).statusCode === 200);

      // The other shards' revocations still reach the verifiers: a logout on s1 is in the poll and the cache-sync feed.
      const since = t.clock.now() - 1;
      const sessions = t.services.storage.sessions();
      const out = await post(t.app, '/v1/auth/logout', {}, bearer(other.access_token));
      assert.equal(out.statusCode, 204, out.body);
      const revoked = await sessions.revokedSince(since);
      assert.ok(
        revoked.some((r) => r.id === other.refresh_token.split('.')[0]),
        'the s1 revocation, with s2 down',
      );
      // The background work is per shard: s1's relay queues the logout's cache sync while s2's fails.
      assert.deepEqual(
        t.services.storage.perShard.map((q) => q.shard),
        ['main', 's1', 's2'],
      );
      const tier = await startWorkerTier(tierDeps(t));
      try {
        const [, s1, s2] = tier.relays;
        await assert.rejects(s2!.runOnce());
        await s1!.runOnce();
        const synced = async () =>
          (
            await clients[1]!.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox WHERE session_id = $1 AND synced_at IS NOT NULL', [
              other.refresh_token.split('.')[0],
            ])
          ).rows[0]!.n === 1;
        await eventually(synced, 5000, "the s1 logout's cache sync queued");
        await assert.rejects(s2!.runOnce(), 's2 is still down');
      } finally {
        await tier.close();
      }
      // What s2 owes is asked for again once it is back, from where it was first missed.
      proxy.heal();
      const later = await sessions.revokedSince(t.clock.now() + 1);
      assert.ok(later.length > 0 && later.every((r) => shardOfSlot(slotOfId(r.id)!) === 2), 'only what s2 owed, from the earlier time');
      assert.deepEqual(await sessions.revokedSince(t.clock.now() + 1), [], 'and owes nothing after');
    } finally {
      proxy.heal();
    }
    const back = await refresh(t.app, kept.refresh_token);
    assert.equal(back.statusCode, 200, back.body);
  });

  it('refuses to start with another list of databases than the one the rows were placed by', async () => {
    const fewer = await openStorage({ databaseUrl: dbs[0]!.url, dataDir: '.', poolSize: 1 }, { replicate: false }, [{ name: 's1', url: dbs[1]!.url }]);
    try {
      await assert.rejects(fewer.migrate(), /placed over the databases \[main, s1, s2\].*configured with \[main, s1\]/);
    } finally {
      await fewer.close();
    }
  });

  it('refuses to start with two shard URLs swapped', async () => {
    const swapped = await openStorage({ databaseUrl: dbs[0]!.url, dataDir: '.', poolSize: 1 }, { replicate: false }, [
      { name: 's1', url: dbs[2]!.url },
      { name: 's2', url: dbs[1]!.url },
    ]);
    try {
      await assert.rejects(swapped.migrate(), /configured as shard "s1" is shard "s2"/);
    } finally {
      await swapped.close();
    }
  });

  it('runs the background work on every shard', async () => {
    const now = t.clock.now() + 400 * 86_400_000;
    const cleaned = await t.services.storage.maintenance.cleanup({ now, keepRevokedSince: now, keepForeignRevocationsSince: now });
    const left = await Promise.all(clients.map((c) => c.query<{ n: number }>('SELECT count(*)::int AS n FROM sessions')));
    assert.ok(cleaned.sessions > 0);
    assert.deepEqual(
      left.map((l) => l.rows[0]!.n),
      [0, 0, 0],
      'expired sessions removed from every shard',
    );
  });
});
