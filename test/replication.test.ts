/**
 * Replication between regions, end to end: three regions in this process,
 * each on its own PostgreSQL database with its own worker tier (outbox relay
 * and senders), reaching each other over loopback through toggleable TCP
 * proxies. Topology: a and c are peers of b only (b sits between them, as
 * in the local cluster), b keeps the username directory.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildEvent } from '../src/storage/postgres/replication-queue.js';
import type { ChangeRow, ReplicationEvent } from '../src/storage/replication-records.js';
import type { TestApp } from './helpers.js';
import { bearer, claimsOf, eventually, json, metricValue, PASSWORD, post, register, type Tokens } from './helpers.js';
import { type RegionSet, startChain } from './regions-harness.js';

const GRACE_MS = 10_000;

describe('replication between regions', () => {
  let set: RegionSet;
  const node = (id: string) => set.nodes[id]!;
  const app = (id: string) => node(id).t.app;
  const ids = ['a', 'b', 'c'];

  const loginAt = async (id: string, username: string): Promise<Tokens> => {
    const res = await post(app(id), '/v1/auth/login', { username, password: PASSWORD });
    assert.equal(res.statusCode, 200, res.body);
    return json<Tokens>(res);
  };
  const refreshAt = (id: string, token: string) => post(app(id), '/v1/auth/refresh', { refresh_token: token });
  const me = (id: string, access: string) => app(id).inject({ url: '/v1/auth/me', headers: bearer(access) });
  const count = async (t: TestApp, sql: string) => Number((await t.db.query<{ n: string }>(sql)).rows[0]!.n);
  /** Every change committed so far has been applied by every region it goes to (for regions whose worker runs). */
  const settled = (what = 'replication to settle') =>
    eventually(
      async () => {
        for (const id of ids) {
          if (!node(id).tier) continue;
          const t = node(id).t;
          if ((await count(t, 'SELECT count(*) AS n FROM outbox WHERE sent_at IS NULL')) + (await count(t, 'SELECT count(*) AS n FROM replication_queue')) > 0)
            return false;
        }
        return true;
      },
      15_000,
      what,
    );
  const refreshCalls = (from: string, to: string) => metricValue(node(from).t.services.metrics.regionCalls, { target: to, operation: 'refresh' });
  /** The sessions of these tokens are over in every region, once replication has settled. */
  const everywhereDead = async (tokens: Tokens[]) => {
    // Access tokens: every region's verifiers refuse them once the revocation has arrived.
    await eventually(
      async () => {
        for (const id of ids) for (const tk of tokens) if ((await me(id, tk.access_token)).statusCode !== 401) return false;
        return true;
      },
      10_000,
      'access tokens refused in every region',
    );
    await settled();
    for (const id of ids) {
      for (const tk of tokens) {
        const res = await refreshAt(id, tk.refresh_token);
        assert.equal(res.statusCode, 400, `${id}: ${res.body}`);
        assert.equal(json(res).error, 'invalid_grant');
      }
    }
  };

  before(async () => {
    set = await startChain();
  });
  after(() => set.close());

  it('applying is idempotent and order-free: events twice and in reverse end as once in order; a late rotation never undoes a revocation', async () => {
    assert.equal((await register(app('a'), 'orderly')).statusCode, 201);
    const tokens = await loginAt('a', 'orderly');
    const rotated = json<Tokens>(await refreshAt('a', tokens.refresh_token));
    assert.equal((await post(app('a'), '/v1/auth/logout', undefined, bearer(rotated.access_token))).statusCode, 204);
    const { sid } = claimsOf(tokens.access_token);
    const rows = (
      await node('a').t.db.query<ChangeRow & { id: string }>(
        'SELECT id::text AS id, kind, session_id, user_id, token_hashes, created_at FROM outbox WHERE session_id = $1 ORDER BY id',
        [sid],
      )
    ).rows;
    assert.deepEqual(
      rows.map((r) => r.kind),
      ['created', 'rotated', 'revoked'],
    );
    const events = await Promise.all(rows.map((r) => buildEvent(node('a').t.db, r.id, r)));
    // c holds no copy of a's families (not a peer of a): apply them there by hand, newest first, twice.
    const applier = node('c').t.services.regions!.replication;
    await applier.apply('a', [...events].reverse());
    await applier.apply('a', [...events].reverse());
    const state = async () => (await node('c').t.db.query('SELECT generation, revoked_at IS NOT NULL AS revoked FROM sessions WHERE id = $1', [sid])).rows[0];
    const merged = await state();
    assert.deepEqual(merged, { generation: 1, revoked: true });
    await applier.apply('a', events);
    assert.deepEqual(await state(), merged);
    assert.ok(node('c').t.services.revocations.has(sid));
    assert.equal((await refreshAt('c', rotated.refresh_token)).statusCode, 400);
  });

  it('a deletion applied twice and before a late record of the user: the replica never comes back', async () => {
    assert.equal((await register(app('a'), 'gone-for-good')).statusCode, 201);
    const { sub } = claimsOf((await loginAt('a', 'gone-for-good')).access_token);
    await settled();
    const rows = (
      await node('a').t.db.query<ChangeRow & { id: string }>(
        'SELECT id::text AS id, kind, session_id, user_id, token_hashes, created_at FROM outbox WHERE user_id = $1 OR session_id IN (SELECT id FROM sessions WHERE user_id = $1) ORDER BY id',
        [sub],
      )
    ).rows;
    const late = await Promise.all(rows.map((r) => buildEvent(node('a').t.db, r.id, r)));
    assert.ok(late.some((e) => e.user) && late.some((e) => e.family));
    const deletion: ReplicationEvent = {
      id: 'deletion',
      kind: 'user_deleted',
      at: set.clock.now(),
      tokens: [],
      deletion: { userId: sub, deletedAt: set.clock.now() },
    };
    const held = async (id: string) =>
      count(node(id).t, `SELECT (SELECT count(*) FROM users WHERE id = '${sub}') + (SELECT count(*) FROM sessions WHERE user_id = '${sub}') AS n`);
    assert.ok((await held('b')) > 0, 'b holds her replica');
    // b held the replica, c never did: both end with nothing, whatever comes after the deletion.
    for (const id of ['b', 'c']) {
      const applier = node(id).t.services.regions!.replication;
      await applier.apply('a', [deletion, deletion]);
      await applier.apply('a', late);
      await applier.apply('a', [deletion, ...late]);
      assert.equal(await held(id), 0, `nothing of hers at ${id}`);
    }
  });

  it('a user of a logs in at b from the replica and at c by proxy; a token refreshes at c by proxy, then at b from the replica', async () => {
    assert.equal((await register(app('a'), 'wanderer')).statusCode, 201);
    await settled();
    const atB = await post(app('b'), '/v1/auth/login', { username: 'wanderer', password: PASSWORD });
    assert.equal(atB.statusCode, 200, atB.body);
    assert.equal(atB.headers['x-meridian-region'], 'b', 'decided from the replicated user record');
    const atC = await post(app('c'), '/v1/auth/login', { username: 'wanderer', password: PASSWORD });
    assert.equal(atC.headers['x-meridian-region'], 'a', 'no replica at c: proxied to the home region');

    const tokens = await loginAt('a', 'wanderer');
    await settled();
    const viaC = await refreshAt('c', tokens.refresh_token);
    assert.equal(viaC.statusCode, 200, viaC.body);
    assert.equal(viaC.headers['x-meridian-region'], 'a');
    await settled();
    const callsBefore = await refreshCalls('b', 'a');
    const viaB = await refreshAt('b', json<Tokens>(viaC).refresh_token);
    assert.equal(viaB.statusCode, 200, viaB.body);
    assert.equal(viaB.headers['x-meridian-region'], 'b', 'rotated from the replica');
    assert.equal(await refreshCalls('b', 'a'), callsBefore, 'b made no call to a');
    const next = json<Tokens>(viaB);
    assert.match(next.refresh_token, /^a_/, 'the family keeps its origin region');
    // The rotation at b reached the origin: its child refreshes there, and the consumed parent is reuse there.
    await settled();
    const atOrigin = await refreshAt('a', next.refresh_token);
    assert.equal(atOrigin.statusCode, 200, atOrigin.body);
    assert.equal(atOrigin.headers['x-meridian-region'], 'a');
    assert.ok((await metricValue(node('b').t.services.metrics.refreshes, { path: 'replica', outcome: 'rotated' })) >= 1);
    assert.ok((await metricValue(node('b').t.services.metrics.replicationApplied, { peer: 'a', kind: 'rotation' })) >= 1);
    const audit = node('b')
      .t.logs.map((l) => JSON.parse(l))
      .filter((l) => l.event === 'replication.applied');
    assert.ok(audit.some((l) => l.peer === 'a' && typeof l.lag_seconds === 'number'));
  });

  it('a token replayed at b after its rotation at a is reuse: the family dies in every region', async () => {
    const tokens = await loginAt('a', 'wanderer');
    await settled();
    const rotated = await refreshAt('a', tokens.refresh_token);
    assert.equal(rotated.statusCode, 200);
    await settled();
    set.clock.advance(GRACE_MS + 5000);
    const replay = await refreshAt('b', tokens.refresh_token);
    assert.equal(replay.statusCode, 400, replay.body);
    assert.equal(json(replay).error, 'invalid_grant');
    await settled();
    await everywhereDead([json<Tokens>(rotated), tokens]);
  });

  it('a double spend at a and b while the link is cut is found when replication resumes: the family dies everywhere', async () => {
    const tokens = await loginAt('a', 'wanderer');
    await settled();
    const before = await metricValue(node('a').t.services.metrics.reuseDetections, { cause: 'double_spend' });
    node('a').proxy.cut();
    node('b').proxy.cut();
    let spentA: Tokens;
    let spentB: Tokens;
    try {
      const first = await refreshAt('a', tokens.refresh_token);
      assert.equal(first.statusCode, 200, first.body);
      set.clock.advance(GRACE_MS + 5000);
      const second = await refreshAt('b', tokens.refresh_token);
      assert.equal(second.statusCode, 200, second.body);
      assert.equal(second.headers['x-meridian-region'], 'b', 'b could not know: it spent its replica');
      [spentA, spentB] = [json<Tokens>(first), json<Tokens>(second)];
    } finally {
      node('a').proxy.heal();
      node('b').proxy.heal();
    }
    await settled('replication to catch up after the cut');
    assert.ok((await metricValue(node('a').t.services.metrics.reuseDetections, { cause: 'double_spend' })) > before);
    await everywhereDead([spentA, spentB]);
  });

  it('a logout at b of a session replicated there is refused at a and c', async () => {
    const tokens = await loginAt('a', 'wanderer');
    await settled();
    const res = await post(app('b'), '/v1/auth/logout', undefined, bearer(tokens.access_token));
    assert.equal(res.statusCode, 204, res.body);
    assert.equal(res.headers['x-meridian-region'], 'b', 'ended at b, from its replica');
    await everywhereDead([tokens]);
    // c holds no copy of the session, yet keeps the revocation: a restarted process loads it.
    await node('c').restart();
    assert.equal((await me('c', tokens.access_token)).statusCode, 401);
  });

  it('a region down: the others go on, its access tokens verify, its unreplicated tokens get 503; back, it catches up', async () => {
    assert.equal((await register(app('b'), 'local-b')).statusCode, 201);
    const ofB = await loginAt('b', 'local-b');
    const replicated = await loginAt('a', 'wanderer');
    await settled();
    await node('a').stopWorker();
    const unreplicated = await loginAt('a', 'wanderer');
    node('a').proxy.cut();
    let rotatedAtB: Tokens;
    try {
      assert.equal((await refreshAt('b', ofB.refresh_token)).statusCode, 200, 'b serves its own users');
      assert.equal((await register(app('c'), 'local-c')).statusCode, 201);
      assert.equal((await loginAt('c', 'local-c')).token_type, 'Bearer');
      for (const id of ['b', 'c']) assert.equal((await me(id, unreplicated.access_token)).statusCode, 200, `${id} verifies a's token`);
      const lost = await refreshAt('b', unreplicated.refresh_token);
      assert.equal(lost.statusCode, 503, lost.body);
      assert.equal(json(lost).error, 'temporarily_unavailable');
      const fromReplica = await refreshAt('b', replicated.refresh_token);
      assert.equal(fromReplica.statusCode, 200, fromReplica.body);
      rotatedAtB = json<Tokens>(fromReplica);
    } finally {
      node('a').proxy.heal();
      await node('a').startWorker();
    }
    await settled('a to catch up');
    // a received b's rotation, b received a's login: nothing was lost either way.
    const atA = await refreshAt('a', rotatedAtB.refresh_token);
    assert.equal(atA.statusCode, 200, atA.body);
    const atB = await refreshAt('b', unreplicated.refresh_token);
    assert.equal(atB.statusCode, 200, atB.body);
    assert.equal(atB.headers['x-meridian-region'], 'b');
  });

  it('a partition between a and b under load, healed: every revocation everywhere, no family with two live tokens', async () => {
    const users = ['load-1', 'load-2', 'load-3'];
    for (const u of users) assert.equal((await register(app('a'), u)).statusCode, 201);
    await settled();
    const live: Tokens[] = [];
    for (const u of users) for (const id of ['a', 'b']) live.push(await loginAt(id, u));
    await settled();
    node('a').proxy.cut();
    node('b').proxy.cut();
    const revokedHere: string[] = [];
    try {
      for (let round = 0; round < 3; round++) {
        for (let i = 0; i < live.length; i++) {
          const tk = live[i]!;
          // Every family is refreshed on both sides of the partition some of the time: double spends included.
          const side = (i + round) % 2 === 0 ? 'a' : 'b';
          const res = await refreshAt(side, tk.refresh_token);
          if (res.statusCode === 200) live[i] = json<Tokens>(res);
          if (round === 1 && i % 3 === 0) {
            await post(app(side), '/v1/auth/logout', undefined, bearer(live[i]!.access_token));
            revokedHere.push(live[i]!.access_token);
          }
        }
        set.clock.advance(GRACE_MS + 1000);
      }
    } finally {
      node('a').proxy.heal();
      node('b').proxy.heal();
    }
    await settled('replication after the partition healed');
    const revoked = new Set<string>();
    for (const id of ids) {
      const { rows } = await node(id).t.db.query<{ id: string }>(
        'SELECT id FROM sessions WHERE revoked_at IS NOT NULL UNION SELECT session_id FROM replicated_revocations',
      );
      for (const r of rows) revoked.add(r.id);
    }
    assert.ok(revoked.size > 0);
    for (const id of ids) for (const sid of revoked) assert.ok(node(id).t.services.revocations.has(sid), `${id} enforces the revocation of ${sid}`);
    // A live session's one live token is its generation's: every region holding it agrees on which.
    const liveGenerations = new Map<string, Set<number>>();
    for (const id of ids) {
      const { rows } = await node(id).t.db.query<{ id: string; generation: number }>('SELECT id, generation FROM sessions WHERE revoked_at IS NULL');
      for (const r of rows) liveGenerations.set(r.id, (liveGenerations.get(r.id) ?? new Set()).add(r.generation));
    }
    for (const [sid, generations] of liveGenerations) {
      assert.ok(!revoked.has(sid), `${sid} is revoked somewhere but live elsewhere`);
      assert.equal(generations.size, 1, `${sid} is live at generations ${[...generations]} across regions`);
    }
  });
});
