/**
 * The account endpoints in a region topology (a - b - c, b the directory):
 * a password change replicates to the regions holding the user, the session
 * list and a password change asked elsewhere are answered by the home region,
 * a deletion at home reaches every region and frees the name, and a disable
 * made while a link is cut reaches the other side once it heals.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestApp } from './helpers.js';
import { bearer, claimsOf, eventually, json, PASSWORD, post, register, type Tokens } from './helpers.js';
import { type RegionSet, startChain } from './regions-harness.js';

const NEW_PASSWORD = 'a quite different passphrase, 2nd';
const ADMIN = 'admin-token-for-tests-0123456789';
const admin = { authorization: `Bearer ${ADMIN}` };

describe('account endpoints across regions', () => {
  let set: RegionSet;
  const node = (id: string) => set.nodes[id]!;
  const app = (id: string) => node(id).t.app;
  const count = async (t: TestApp, sql: string) => Number((await t.db.query<{ n: string }>(sql)).rows[0]!.n);
  const settled = () =>
    eventually(
      async () => {
        for (const id of ['a', 'b', 'c']) {
          const t = node(id).t;
          if ((await count(t, 'SELECT count(*) AS n FROM outbox WHERE sent_at IS NULL')) + (await count(t, 'SELECT count(*) AS n FROM replication_queue')) > 0)
            return false;
        }
        return true;
      },
      15_000,
      'replication to settle',
    );
  const loginAt = (id: string, username: string, password = PASSWORD) => post(app(id), '/v1/auth/login', { username, password });
  const tokensAt = async (id: string, username: string): Promise<Tokens> => {
    const res = await loginAt(id, username);
    assert.equal(res.statusCode, 200, res.body);
    return json<Tokens>(res);
  };
  /** The session of these tokens is over at `id`: its refresh token is refused, and (once the revocation arrived) its access token. */
  const sessionDeadAt = async (id: string, tokens: Tokens) => {
    const refresh = await post(app(id), '/v1/auth/refresh', { refresh_token: tokens.refresh_token });
    assert.equal(refresh.statusCode, 400, `${id}: ${refresh.body}`);
    assert.equal(json(refresh).error, 'invalid_grant');
    await eventually(
      async () => (await app(id).inject({ url: '/v1/auth/me', headers: bearer(tokens.access_token) })).statusCode === 401,
      10_000,
      `access token refused at ${id}`,
    );
  };

  before(async () => {
    set = await startChain({ MERIDIAN_ADMIN_TOKEN: ADMIN });
  });
  after(() => set.close());

  it('a password change at home replicates: the old password stops working at b, the other sessions end there too', async () => {
    assert.equal((await register(app('a'), 'traveller')).statusCode, 201);
    await settled();
    const atB = await tokensAt('b', 'traveller');
    assert.equal((await loginAt('b', 'traveller')).headers['x-meridian-region'], 'b', 'b decides logins of the user from its replica');
    const caller = await tokensAt('a', 'traveller');
    await settled();
    const res = await post(app('a'), '/v1/auth/password', { current_password: PASSWORD, new_password: NEW_PASSWORD }, bearer(caller.access_token));
    assert.equal(res.statusCode, 204, res.body);
    await settled();
    const old = await loginAt('b', 'traveller');
    assert.equal(old.statusCode, 400, old.body);
    assert.equal(json(old).error, 'invalid_grant');
    const fresh = await loginAt('b', 'traveller', NEW_PASSWORD);
    assert.equal(fresh.statusCode, 200, fresh.body);
    assert.equal(fresh.headers['x-meridian-region'], 'b');
    assert.equal((await post(app('b'), '/v1/auth/refresh', { refresh_token: atB.refresh_token })).statusCode, 400, 'the session made at b ended');
    await eventually(
      async () => (await app('b').inject({ url: '/v1/auth/me', headers: bearer(atB.access_token) })).statusCode === 401,
      10_000,
      'access token refused at b',
    );
    assert.equal((await app('a').inject({ url: '/v1/auth/me', headers: bearer(caller.access_token) })).statusCode, 200, "the caller's session stays");
  });

  it('the session list asked at c comes from the home region; unreachable, it is a 503 with Retry-After', async () => {
    assert.equal((await register(app('a'), 'listed-far')).statusCode, 201);
    const first = await tokensAt('a', 'listed-far');
    const second = await tokensAt('a', 'listed-far');
    const res = await app('c').inject({ url: '/v1/auth/sessions', headers: bearer(second.access_token) });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.headers['x-meridian-region'], 'a');
    const listed = json<{ sessions: { id: string; current: boolean; region: string }[] }>(res).sessions;
    assert.equal(listed.length, 2);
    assert.deepEqual(
      listed.filter((s) => s.current).map((s) => s.id),
      [claimsOf(second.access_token).sid],
    );
    assert.ok(listed.every((s) => s.region === 'a'));
    node('a').proxy.cut();
    try {
      const down = await app('c').inject({ url: '/v1/auth/sessions', headers: bearer(first.access_token) });
      assert.equal(down.statusCode, 503, down.body);
      assert.equal(json(down).error, 'temporarily_unavailable');
      assert.ok(Number(down.headers['retry-after']) > 0);
    } finally {
      node('a').proxy.heal();
    }
  });

  it('a password change asked at c is made in the home region, with its answers', async () => {
    assert.equal((await register(app('a'), 'changed-far')).statusCode, 201);
    const caller = await tokensAt('a', 'changed-far');
    const wrong = await post(
      app('c'),
      '/v1/auth/password',
      { current_password: 'not the password at all!', new_password: NEW_PASSWORD },
      bearer(caller.access_token),
    );
    assert.equal(wrong.statusCode, 400, wrong.body);
    assert.equal(json(wrong).error, 'invalid_grant');
    const weak = await post(app('c'), '/v1/auth/password', { current_password: PASSWORD, new_password: 'short' }, bearer(caller.access_token));
    assert.equal(json(weak).error, 'weak_password');
    const ok = await post(app('c'), '/v1/auth/password', { current_password: PASSWORD, new_password: NEW_PASSWORD }, bearer(caller.access_token));
    assert.equal(ok.statusCode, 204, ok.body);
    assert.equal(ok.headers['x-meridian-region'], 'a');
    assert.equal((await loginAt('a', 'changed-far')).statusCode, 400);
    assert.equal((await loginAt('a', 'changed-far', NEW_PASSWORD)).statusCode, 200);
  });

  it('a password change asked at a region holding copies of the sessions ends those copies before it answers', async () => {
    assert.equal((await register(app('a'), 'changed-near')).statusCode, 201);
    const caller = await tokensAt('a', 'changed-near');
    const other = await tokensAt('a', 'changed-near');
    await settled();
    const ok = await post(app('b'), '/v1/auth/password', { current_password: PASSWORD, new_password: NEW_PASSWORD }, bearer(caller.access_token));
    assert.equal(ok.statusCode, 204, ok.body);
    // At once, before any replication: b's copy of the other session no longer rotates.
    const refresh = await post(app('b'), '/v1/auth/refresh', { refresh_token: other.refresh_token });
    assert.equal(refresh.statusCode, 400, refresh.body);
    assert.equal((await app('b').inject({ url: '/v1/auth/me', headers: bearer(other.access_token) })).statusCode, 401);
  });

  it('a password change reaches a region that is no peer of the home but holds a copy of the user', async () => {
    assert.equal((await register(app('a'), 'changed-copy')).statusCode, 201);
    const caller = await tokensAt('a', 'changed-copy');
    await settled();
    // A login at b (a's peer) starts a family at b; b's families go to its peers, c among them, with the user.
    await tokensAt('b', 'changed-copy');
    await settled();
    assert.equal(await count(node('c').t, "SELECT count(*) AS n FROM users WHERE username = 'changed-copy'"), 1, 'c holds a copy');
    const ok = await post(app('a'), '/v1/auth/password', { current_password: PASSWORD, new_password: NEW_PASSWORD }, bearer(caller.access_token));
    assert.equal(ok.statusCode, 204, ok.body);
    await settled();
    assert.equal((await loginAt('c', 'changed-copy')).statusCode, 400, 'the old password no longer works at c');
    assert.equal((await loginAt('c', 'changed-copy', NEW_PASSWORD)).statusCode, 200);
  });

  it('a session started at a region that is no peer of the home is known at home: listed there, and ended by a password change', async () => {
    assert.equal((await register(app('a'), 'far-session')).statusCode, 201);
    const caller = await tokensAt('a', 'far-session');
    await settled();
    await tokensAt('b', 'far-session');
    await settled();
    // c holds a copy of the user (it came with b's family), so a login at c starts a family of c's.
    const far = await tokensAt('c', 'far-session');
    assert.equal(claimsOf(far.access_token).region, 'c');
    await settled();
    const list = json<{ sessions: { id: string; region: string }[] }>(
      await app('a').inject({ url: '/v1/auth/sessions', headers: bearer(caller.access_token) }),
    );
    assert.ok(
      list.sessions.some((x) => x.id === claimsOf(far.access_token).sid),
      'the home lists the session of c',
    );
    const ok = await post(app('a'), '/v1/auth/password', { current_password: PASSWORD, new_password: NEW_PASSWORD }, bearer(caller.access_token));
    assert.equal(ok.statusCode, 204, ok.body);
    await settled();
    await sessionDeadAt('c', far);
  });

  it('a user deleted at home is gone everywhere, and her name can be registered again in another region', async () => {
    assert.equal((await register(app('a'), 'carol')).statusCode, 201);
    await settled();
    const tokens = await tokensAt('a', 'carol');
    const { sub } = claimsOf(tokens.access_token);
    await settled();
    const heldAt = (id: string, table: 'users' | 'sessions') =>
      count(node(id).t, `SELECT count(*) AS n FROM ${table} WHERE ${table === 'users' ? 'id' : 'user_id'} = '${sub}'`);
    assert.equal(await heldAt('b', 'sessions'), 1, 'b holds a replica of her session');
    const away = await app('b').inject({ method: 'DELETE', url: `/admin/v1/users/${sub}`, headers: admin });
    assert.equal(away.statusCode, 400, away.body);
    assert.match(json(away).error_description as string, /region a/);
    const res = await app('a').inject({ method: 'DELETE', url: `/admin/v1/users/${sub}`, headers: admin });
    assert.equal(res.statusCode, 204, res.body);
    await settled();
    for (const id of ['a', 'b', 'c']) {
      assert.equal(await heldAt(id, 'users'), 0, `no record of her at ${id}`);
      assert.equal(await heldAt(id, 'sessions'), 0, `no session of hers at ${id}`);
    }
    const again = await register(app('b'), 'carol');
    assert.equal(again.statusCode, 201, again.body);
    for (const id of ['a', 'b', 'c']) await sessionDeadAt(id, tokens);
  });

  it('deleting waits for the directory: unreachable, it is a 503 with Retry-After and nothing is deleted', async () => {
    assert.equal((await register(app('a'), 'kept-far')).statusCode, 201);
    const tokens = await tokensAt('a', 'kept-far');
    const { sub } = claimsOf(tokens.access_token);
    node('b').proxy.cut();
    try {
      const res = await app('a').inject({ method: 'DELETE', url: `/admin/v1/users/${sub}`, headers: admin });
      assert.equal(res.statusCode, 503, res.body);
      assert.ok(Number(res.headers['retry-after']) > 0);
    } finally {
      node('b').proxy.heal();
    }
    assert.equal((await app('a').inject({ url: '/v1/auth/me', headers: bearer(tokens.access_token) })).statusCode, 200);
    assert.equal((await app('a').inject({ url: `/admin/v1/users/${sub}`, headers: admin })).statusCode, 200);
    assert.equal((await post(app('a'), '/v1/auth/refresh', { refresh_token: tokens.refresh_token })).statusCode, 200);
  });

  it('a disable made while the link to b is cut reaches b once it heals: nothing of the user is usable at a or b', async () => {
    assert.equal((await register(app('a'), 'dora')).statusCode, 201);
    await settled();
    const tokens = await tokensAt('a', 'dora');
    const { sub } = claimsOf(tokens.access_token);
    await settled();
    assert.equal(await count(node('b').t, `SELECT count(*) AS n FROM sessions WHERE user_id = '${sub}'`), 1, 'b holds a replica of her session');
    node('a').proxy.cut();
    node('b').proxy.cut();
    try {
      const res = await post(app('a'), `/admin/v1/users/${sub}/disable`, {}, admin);
      assert.equal(res.statusCode, 204, res.body);
      await eventually(
        async () => (await count(node('a').t, "SELECT count(*) AS n FROM replication_queue WHERE target = 'b'")) > 0,
        10_000,
        'the disable queued for b while the link is cut',
      );
    } finally {
      node('a').proxy.heal();
      node('b').proxy.heal();
    }
    await settled();
    for (const id of ['a', 'b']) {
      await sessionDeadAt(id, tokens);
      const login = await loginAt(id, 'dora');
      assert.notEqual(login.statusCode, 200, `${id}: ${login.body}`);
    }
  });
});
