/** The admin API for accounts: lookup, disable and enable, ending sessions, deletion; all behind the admin token. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BACKENDS, bearer, claimsOf, createTestApp, json, login, metricValue, PASSWORD, post, REDIS_URL, refresh, register, type TestApp } from './helpers.js';
import { testPrefix } from './redis-server.js';

const ADMIN = 'admin-token-for-tests-0123456789';
const admin = { authorization: `Bearer ${ADMIN}` };

for (const backend of BACKENDS) {
  describe(`admin account API (${backend})`, () => {
    let t: TestApp;
    before(async () => {
      // With Redis: refreshes are answered from the cache, whose family entries copy `disabled`.
      t = await createTestApp({ backend, env: { MERIDIAN_ADMIN_TOKEN: ADMIN, REDIS_URL, MERIDIAN_REDIS_PREFIX: testPrefix('admin-accounts') } });
    });
    after(async () => t.close());

    const call = (method: 'GET' | 'POST' | 'DELETE', url: string, headers: Record<string, string> = admin) => t.app.inject({ method, url, headers });
    const me = (token: string) => t.app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(token) });
    const userIdOf = async (username: string) => json<{ id: string }>(await register(t.app, username)).id;

    it('refuses every admin call without the admin token, before looking at the request', async () => {
      const id = await userIdOf('guarded');
      for (const headers of [{}, { authorization: 'Bearer not-the-admin-token-at-all' }, bearer(ADMIN.slice(1))]) {
        for (const [method, url] of [
          ['GET', `/admin/v1/users?id=${id}`],
          ['GET', `/admin/v1/users/${id}`],
          ['GET', '/admin/v1/users?bogus=1'],
          ['POST', `/admin/v1/users/${id}/disable`],
          ['POST', `/admin/v1/users/${id}/enable`],
          ['DELETE', `/admin/v1/users/${id}/sessions`],
          ['DELETE', `/admin/v1/users/${id}`],
        ] as const) {
          const res = await call(method, url, headers);
          assert.equal(res.statusCode, 401, `${method} ${url}`);
          assert.equal(json(res).error, 'invalid_token');
        }
      }
      assert.equal(json(await call('GET', `/admin/v1/users/${id}`)).disabled, false, 'nothing was disabled');
    });

    it('finds a user by username (any case) or id, never showing the password hash', async () => {
      const id = await userIdOf('Findable');
      for (const url of ['/admin/v1/users?username=findable', `/admin/v1/users?id=${id}`, `/admin/v1/users/${id}`]) {
        const res = await call('GET', url);
        assert.equal(res.statusCode, 200, res.body);
        const body = json(res);
        assert.deepEqual(Object.keys(body).sort(), ['created_at', 'disabled', 'home_region', 'id', 'password_changed_at', 'username']);
        assert.equal(body.id, id);
        assert.equal(body.username, 'Findable');
      }
      assert.ok(t.logs.some((l) => l.includes('"event":"admin.action"') && l.includes('"actor":"admin"') && l.includes('"action":"user_looked_up"')));
    });

    it('answers 404 for unknown users and 400 for bad lookups', async () => {
      for (const [method, url] of [
        ['GET', '/admin/v1/users?username=nobody-here'],
        ['GET', '/admin/v1/users/no-such-id'],
        ['POST', '/admin/v1/users/no-such-id/disable'],
        ['POST', '/admin/v1/users/no-such-id/enable'],
        ['DELETE', '/admin/v1/users/no-such-id/sessions'],
        ['DELETE', '/admin/v1/users/no-such-id'],
      ] as const) {
        const res = await call(method, url);
        assert.equal(res.statusCode, 404, `${method} ${url}`);
        assert.equal(json(res).error, 'not_found');
      }
      for (const url of ['/admin/v1/users', '/admin/v1/users?id=a&username=b', '/admin/v1/users?other=1', `/admin/v1/users/${'x'.repeat(300)}`]) {
        const res = await call('GET', url);
        assert.equal(res.statusCode, 400, url);
        assert.equal(json(res).error, 'invalid_request');
      }
    });

    it('disables an account: its sessions end and it can neither log in nor refresh; enabling lets it log in again', async () => {
      const tokens = await login(t.app, 'disabled-one');
      const id = claimsOf(tokens.access_token).sub;
      const before = await metricValue(t.services.metrics.adminActions, { action: 'user_disabled' });
      assert.equal((await call('POST', `/admin/v1/users/${id}/disable`)).statusCode, 204);
      assert.equal(await metricValue(t.services.metrics.adminActions, { action: 'user_disabled' }), before + 1);
      assert.equal((await me(tokens.access_token)).statusCode, 401);
      assert.equal((await refresh(t.app, tokens.refresh_token)).statusCode, 400);
      assert.equal((await post(t.app, '/v1/auth/login', { username: 'disabled-one', password: PASSWORD })).statusCode, 400);
      assert.equal(json(await call('GET', `/admin/v1/users/${id}`)).disabled, true);
      assert.equal((await call('POST', `/admin/v1/users/${id}/enable`)).statusCode, 204);
      assert.equal((await post(t.app, '/v1/auth/login', { username: 'disabled-one', password: PASSWORD })).statusCode, 200);
      assert.equal((await refresh(t.app, tokens.refresh_token)).statusCode, 400, 'enabling does not bring back an ended session');
    });

    it('never hands out a token after the disable answered, whatever the race with refreshes', async () => {
      for (let i = 0; i < 15; i++) {
        const tokens = await login(t.app, `racer-${i}`);
        const id = claimsOf(tokens.access_token).sub;
        // Warm the cache with the family, so the racing refreshes may be decided from it.
        const warm = json<{ refresh_token: string }>(await refresh(t.app, tokens.refresh_token));
        const results = await Promise.all([
          call('POST', `/admin/v1/users/${id}/disable`),
          refresh(t.app, warm.refresh_token),
          refresh(t.app, warm.refresh_token),
        ]);
        assert.equal(results[0].statusCode, 204);
        // Whatever a racing refresh got is dead now, and nothing refreshes after the disable.
        for (const res of results.slice(1)) {
          if (res.statusCode !== 200) continue;
          const got = json<{ access_token: string; refresh_token: string }>(res);
          assert.equal((await me(got.access_token)).statusCode, 401, `round ${i}: an access token from the race still works`);
          assert.equal((await refresh(t.app, got.refresh_token)).statusCode, 400, `round ${i}: a refresh token from the race still works`);
        }
        assert.equal((await refresh(t.app, warm.refresh_token)).statusCode, 400);
      }
    });

    it('ends every session of a user', async () => {
      const a = await login(t.app, 'ended-all');
      const b = json<{ access_token: string; refresh_token: string }>(await post(t.app, '/v1/auth/login', { username: 'ended-all', password: PASSWORD }));
      const id = claimsOf(a.access_token).sub;
      const res = await call('DELETE', `/admin/v1/users/${id}/sessions`);
      assert.equal(res.statusCode, 200, res.body);
      assert.deepEqual(json(res), { ended: 2 });
      for (const s of [a, b]) {
        assert.equal((await me(s.access_token)).statusCode, 401);
        assert.equal((await refresh(t.app, s.refresh_token)).statusCode, 400);
      }
      assert.deepEqual(json(await call('DELETE', `/admin/v1/users/${id}/sessions`)), { ended: 0 });
      assert.equal((await post(t.app, '/v1/auth/login', { username: 'ended-all', password: PASSWORD })).statusCode, 200, 'the account itself stays');
    });

    it('deletes an account: sessions end, rows go, the username is free again', async () => {
      const tokens = await login(t.app, 'Deleted-One');
      const id = claimsOf(tokens.access_token).sub;
      assert.equal((await call('DELETE', `/admin/v1/users/${id}`)).statusCode, 204);
      assert.equal((await me(tokens.access_token)).statusCode, 401);
      assert.equal((await refresh(t.app, tokens.refresh_token)).statusCode, 400);
      assert.equal((await post(t.app, '/v1/auth/login', { username: 'deleted-one', password: PASSWORD })).statusCode, 400);
      for (const table of ['users', 'sessions', 'refresh_tokens']) {
        const column = table === 'users' ? 'id' : 'user_id';
        const r = await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE ${column} = $1`, [id]);
        assert.equal(r.rows[0]!.n, 0, table);
      }
      assert.equal((await call('GET', `/admin/v1/users/${id}`)).statusCode, 404);
      assert.equal((await register(t.app, 'deleted-ONE')).statusCode, 201, 'the username is free again');
      assert.ok(t.logs.some((l) => l.includes('"action":"user_deleted"') && l.includes(id)));
    });
  });
}

for (const backend of BACKENDS) {
  describe(`text the database cannot store (${backend})`, () => {
    let t: TestApp;
    before(async () => {
      t = await createTestApp({ backend, env: { MERIDIAN_ADMIN_TOKEN: ADMIN } });
    });
    after(() => t.close());

    it('a NUL byte anywhere in an admin request is a 400, never a 500', async () => {
      const requests: [string, string][] = [
        ['GET', '/admin/v1/users/%00'],
        ['GET', '/admin/v1/users?id=%00'],
        ['GET', '/admin/v1/users?username=ab%00c'],
        ['POST', '/admin/v1/users/a%00b/disable'],
        ['POST', '/admin/v1/users/a%00b/enable'],
        ['DELETE', '/admin/v1/users/a%00b/sessions'],
        ['DELETE', '/admin/v1/users/a%00b'],
      ];
      for (const [method, url] of requests) {
        const res = await t.app.inject({ method: method as 'GET', url, headers: bearer(ADMIN) });
        assert.ok(res.statusCode === 400 || res.statusCode === 404, `${method} ${url}: ${res.statusCode} ${res.body}`);
        assert.deepEqual(Object.keys(json(res)).sort(), ['error', 'error_description']);
      }
    });
  });
}

describe('admin requests are closed', () => {
  it('an unknown query parameter or body field is a 400', async () => {
    const t = await createTestApp({ backend: 'pglite', env: { MERIDIAN_ADMIN_TOKEN: ADMIN } });
    try {
      assert.equal((await register(t.app, 'closed-admin')).statusCode, 201);
      const id = (await t.db.query<{ id: string }>("SELECT id FROM users WHERE username = 'closed-admin'")).rows[0]!.id;
      assert.equal((await t.app.inject({ url: `/admin/v1/users/${id}?x=1`, headers: bearer(ADMIN) })).statusCode, 400);
      assert.equal((await t.app.inject({ method: 'POST', url: `/admin/v1/users/${id}/disable?x=1`, headers: bearer(ADMIN) })).statusCode, 400);
      assert.equal((await post(t.app, `/admin/v1/users/${id}/disable`, { x: 1 }, bearer(ADMIN))).statusCode, 400);
      // Still enabled: none of those was carried out.
      assert.equal((await post(t.app, '/v1/auth/login', { username: 'closed-admin', password: PASSWORD })).statusCode, 200);
      assert.equal((await t.app.inject({ method: 'POST', url: `/admin/v1/users/${id}/disable`, headers: bearer(ADMIN) })).statusCode, 204);
    } finally {
      await t.close();
    }
  });
});
