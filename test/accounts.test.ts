/** The account endpoints through the HTTP app: session list, ending a session, password change. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BACKENDS, bearer, claimsOf, createTestApp, json, login, metricValue, PASSWORD, post, refresh, type TestApp } from './helpers.js';

const NEW_PASSWORD = 'a quite different passphrase, 2nd';

for (const backend of BACKENDS) {
  describe(`account endpoints (${backend})`, () => {
    let t: TestApp;
    before(async () => {
      t = await createTestApp({ backend, env: { MERIDIAN_ACCESS_TOKEN_TTL: '3600', MERIDIAN_REFRESH_IDLE_TTL: '3600', MERIDIAN_LOGIN_MAX_FAILURES: '3' } });
    });
    after(async () => t.close());

    const sessions = (token: string) => t.app.inject({ method: 'GET', url: '/v1/auth/sessions', headers: bearer(token) });
    const endSession = (token: string, id: string) => t.app.inject({ method: 'DELETE', url: `/v1/auth/sessions/${id}`, headers: bearer(token) });
    const me = (token: string) => t.app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(token) });
    const changePassword = (token: string, body: unknown) => post(t.app, '/v1/auth/password', body, bearer(token));
    const loginAs = async (username: string, userAgent: string, password = PASSWORD) => {
      const res = await post(t.app, '/v1/auth/login', { username, password }, { 'user-agent': userAgent });
      assert.equal(res.statusCode, 200, res.body);
      return json<{ access_token: string; refresh_token: string }>(res);
    };
    type Listed = { id: string; created_at: string; last_used_at: string; region: string; user_agent: string | null; ip: string | null; current: boolean };
    const list = async (token: string): Promise<Listed[]> => {
      const res = await sessions(token);
      assert.equal(res.statusCode, 200, res.body);
      return json<{ sessions: Listed[] }>(res).sessions;
    };

    it('lists the live sessions of the caller with their client, marking the current one', async () => {
      await login(t.app, 'lister');
      const a = await loginAs('lister', 'Browser/1.0');
      const b = await loginAs('lister', 'x'.repeat(5000));
      const listed = await list(b.access_token);
      const byId = new Map(listed.map((s) => [s.id, s]));
      const sa = byId.get(claimsOf(a.access_token).sid)!;
      const sb = byId.get(claimsOf(b.access_token).sid)!;
      assert.equal(sa.user_agent, 'Browser/1.0');
      assert.equal(sa.current, false);
      assert.equal(sb.current, true);
      assert.equal(sb.user_agent, 'x'.repeat(256), 'the stored user agent is bounded');
      assert.equal(sa.ip, '127.0.0.1');
      assert.equal(sa.region, t.config.region);
      assert.equal(listed.filter((s) => s.current).length, 1);
      assert.ok(!Number.isNaN(Date.parse(sa.created_at)) && !Number.isNaN(Date.parse(sa.last_used_at)));
      // A logged-out session is no longer listed.
      assert.equal((await post(t.app, '/v1/auth/logout', undefined, bearer(a.access_token))).statusCode, 204);
      assert.ok(!(await list(b.access_token)).some((s) => s.id === sa.id));
    });

    it('leaves idle-expired sessions out of the list', async () => {
      const old = await login(t.app, 'idler');
      t.clock.advance(3000_000);
      const fresh = await loginAs('idler', 'New/2');
      t.clock.advance(700_000);
      const ids = (await list(fresh.access_token)).map((s) => s.id);
      assert.deepEqual(ids, [claimsOf(fresh.access_token).sid]);
      assert.ok(!ids.includes(claimsOf(old.access_token).sid));
    });

    it('refuses the list and the other endpoints without a valid access token', async () => {
      for (const res of [
        await t.app.inject({ method: 'GET', url: '/v1/auth/sessions' }),
        await t.app.inject({ method: 'DELETE', url: '/v1/auth/sessions/abc' }),
        await post(t.app, '/v1/auth/password', { current_password: PASSWORD, new_password: NEW_PASSWORD }),
        await sessions('not.a.token'),
      ]) {
        assert.equal(res.statusCode, 401, res.body);
        assert.equal(json(res).error, 'invalid_token');
      }
    });

    it('ends one session of the caller as a logout does: its refresh and access tokens die at once', async () => {
      const keep = await login(t.app, 'ender');
      const other = await loginAs('ender', 'Phone/3');
      const res = await endSession(keep.access_token, claimsOf(other.access_token).sid);
      assert.equal(res.statusCode, 204, res.body);
      assert.equal((await refresh(t.app, other.refresh_token)).statusCode, 400);
      assert.equal((await me(other.access_token)).statusCode, 401);
      assert.equal((await me(keep.access_token)).statusCode, 200);
      assert.equal((await endSession(keep.access_token, claimsOf(other.access_token).sid)).statusCode, 404, 'an ended session is not found');
    });

    it("answers 404 for another user's session and for an unknown id, and leaves the other user's session alone", async () => {
      const mallory = await login(t.app, 'mallory');
      const victim = await login(t.app, 'victim');
      const sid = claimsOf(victim.access_token).sid;
      for (const id of [sid, 'no-such-session', claimsOf(victim.access_token).sub]) {
        const res = await endSession(mallory.access_token, id);
        assert.equal(res.statusCode, 404, res.body);
        assert.deepEqual(Object.keys(json(res)).sort(), ['error', 'error_description']);
        assert.equal(json(res).error, 'not_found');
      }
      assert.equal((await me(victim.access_token)).statusCode, 200, "the victim's access token still works");
      assert.equal((await refresh(t.app, victim.refresh_token)).statusCode, 200);
      for (const id of ['x'.repeat(200), '%zz']) {
        const res = await endSession(mallory.access_token, id);
        assert.equal(res.statusCode, 400, res.body);
        assert.equal(json(res).error, 'invalid_request');
      }
    });

    it('changes the password: the other sessions end, the caller stays, the old password stops working', async () => {
      const caller = await login(t.app, 'changer');
      const other = await loginAs('changer', 'Laptop/4');
      const before = await metricValue(t.services.metrics.passwordChanges, { outcome: 'success' });
      const res = await changePassword(caller.access_token, { current_password: PASSWORD, new_password: NEW_PASSWORD });
      assert.equal(res.statusCode, 204, res.body);
      assert.equal(await metricValue(t.services.metrics.passwordChanges, { outcome: 'success' }), before + 1);
      assert.equal((await refresh(t.app, other.refresh_token)).statusCode, 400);
      assert.equal((await me(other.access_token)).statusCode, 401);
      assert.equal((await me(caller.access_token)).statusCode, 200);
      assert.equal((await refresh(t.app, caller.refresh_token)).statusCode, 200, "the caller's session stays");
      assert.equal((await post(t.app, '/v1/auth/login', { username: 'changer', password: PASSWORD })).statusCode, 400);
      assert.equal((await post(t.app, '/v1/auth/login', { username: 'changer', password: NEW_PASSWORD })).statusCode, 200);
      const stored = await t.db.query<{ password_hash: string }>('SELECT password_hash FROM users WHERE username = $1', ['changer']);
      assert.match(stored.rows[0]!.password_hash, /^\$argon2id\$/);
      assert.ok(t.logs.some((l) => l.includes('"event":"password.changed"') && l.includes('"count":1')));
    });

    it('refuses a wrong current password as a wrong login password, counted by the login throttle', async () => {
      const caller = await login(t.app, 'guessed');
      const wrongLogin = await post(t.app, '/v1/auth/login', { username: 'guessed', password: 'not the password at all!' });
      assert.equal(wrongLogin.statusCode, 400);
      const wrong = await changePassword(caller.access_token, { current_password: 'not the password at all!', new_password: NEW_PASSWORD });
      assert.equal(wrong.statusCode, 400);
      assert.deepEqual(json(wrong), json(wrongLogin));
      // Two failures so far (limit 3): one more is taken, then the account is locked for the login too.
      assert.equal((await changePassword(caller.access_token, { current_password: 'still not the password!', new_password: NEW_PASSWORD })).statusCode, 400);
      const locked = await changePassword(caller.access_token, { current_password: PASSWORD, new_password: NEW_PASSWORD });
      assert.equal(locked.statusCode, 429, locked.body);
      assert.ok(locked.headers['retry-after']);
      assert.equal((await post(t.app, '/v1/auth/login', { username: 'guessed', password: PASSWORD })).statusCode, 429);
      assert.ok((await metricValue(t.services.metrics.passwordChanges, { outcome: 'bad_credentials' })) >= 2);
    });

    it('refuses a weak new password and malformed bodies with 400, changing nothing', async () => {
      const caller = await login(t.app, 'weakling');
      const weak = await changePassword(caller.access_token, { current_password: PASSWORD, new_password: 'short' });
      assert.equal(weak.statusCode, 400);
      assert.equal(json(weak).error, 'weak_password');
      assert.equal(
        json(await changePassword(caller.access_token, { current_password: PASSWORD, new_password: 'weakling-weakling-weakling' })).error,
        'weak_password',
      );
      for (const body of [
        {},
        { current_password: PASSWORD },
        { current_password: PASSWORD, new_password: NEW_PASSWORD, extra: 1 },
        { current_password: 1, new_password: NEW_PASSWORD },
        [],
      ]) {
        const res = await changePassword(caller.access_token, body);
        assert.equal(res.statusCode, 400, JSON.stringify(body));
        assert.equal(json(res).error, 'invalid_request');
      }
      assert.equal((await changePassword(caller.access_token, { current_password: PASSWORD, new_password: 'y'.repeat(9000) })).statusCode, 400);
      assert.equal((await post(t.app, '/v1/auth/login', { username: 'weakling', password: PASSWORD })).statusCode, 200, 'the password is unchanged');
    });
  });
}
