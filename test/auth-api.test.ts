import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BACKENDS, bearer, claimsOf, createTestApp, decodeJws, json, login, PASSWORD, post, register, type TestApp, type Tokens } from './helpers.js';

for (const backend of BACKENDS) {
  describe(`API endpoints (${backend})`, () => {
    let t: TestApp;
    before(async () => {
      t = await createTestApp({ backend });
    });
    after(() => t.close());

    describe('register', () => {
      it('creates a user: 201 with id, username, home_region, created_at', async () => {
        const res = await register(t.app, 'Reg.User_1');
        assert.equal(res.statusCode, 201);
        const body = json(res);
        assert.deepEqual(Object.keys(body).sort(), ['created_at', 'home_region', 'id', 'username']);
        assert.equal(body.username, 'Reg.User_1');
        assert.equal(body.home_region, 'local');
        assert.match(String(body.id), /^local_[0-9a-z]{26}$/);
        assert.ok(!Number.isNaN(Date.parse(String(body.created_at))));
      });

      it('refuses a username that exists in any case or compatibility form: 409', async () => {
        await register(t.app, 'casey');
        for (const name of ['casey', 'CASEY', 'Casey', 'ｃａｓｅｙ']) {
          const res = await register(t.app, name);
          assert.equal(res.statusCode, 409, name);
          assert.equal(json(res).error, 'username_taken');
        }
      });

      it('refuses bad usernames with invalid_request', async () => {
        for (const name of ['ab', 'a'.repeat(65), 'has space', 'semi;colon', 'emoji😀x', '']) {
          const res = await register(t.app, name);
          assert.equal(res.statusCode, 400, name);
          assert.equal(json(res).error, 'invalid_request', name);
        }
      });

      it('refuses weak passwords with weak_password', async () => {
        for (const password of ['short', 'fourteen chars', 'passwordpassword', 'weakling-user-1']) {
          const res = await post(t.app, '/v1/auth/register', { username: 'weakling-user-1', password });
          assert.equal(res.statusCode, 400, password);
          assert.equal(json(res).error, 'weak_password', password);
        }
      });

      it('accepts any characters and long passwords, never truncated', async () => {
        // 200 different CJK ideographs (a repeated character would be refused as repetitive).
        const long = `${Array.from({ length: 200 }, (_, i) => String.fromCodePoint(0x4e00 + ((i * 7919) % 20000))).join('')} ü 🙂 x`;
        assert.equal((await post(t.app, '/v1/auth/register', { username: 'longpw', password: long })).statusCode, 201);
        assert.equal((await post(t.app, '/v1/auth/login', { username: 'longpw', password: long })).statusCode, 200);
        // One character less is a different password.
        assert.equal((await post(t.app, '/v1/auth/login', { username: 'longpw', password: long.slice(0, -1) })).statusCode, 400);
      });
    });

    describe('request validation', () => {
      it('extra, missing and mistyped fields are invalid_request', async () => {
        const bodies = [
          { username: 'x-valid', password: PASSWORD, admin: true },
          { username: 'x-valid' },
          { username: 42, password: PASSWORD },
          { username: 'x-valid', password: ['a'] },
          [],
          'string',
          null,
        ];
        for (const body of bodies) {
          const res = await post(t.app, '/v1/auth/register', body);
          assert.equal(res.statusCode, 400, JSON.stringify(body));
          assert.equal(json(res).error, 'invalid_request');
          assert.equal(typeof json(res).error_description, 'string');
        }
      });

      it('malformed JSON is invalid_request', async () => {
        const res = await t.app.inject({ method: 'POST', url: '/v1/auth/login', headers: { 'content-type': 'application/json' }, payload: '{"username":' });
        assert.equal(res.statusCode, 400);
        assert.equal(json(res).error, 'invalid_request');
      });

      it('a body that is not JSON is 415', async () => {
        for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml']) {
          const res = await t.app.inject({ method: 'POST', url: '/v1/auth/login', headers: { 'content-type': type }, payload: 'username=a&password=b' });
          assert.equal(res.statusCode, 415, type);
          assert.equal(json(res).error, 'unsupported_media_type');
        }
      });

      it('a body over the limit is 413', async () => {
        const res = await post(t.app, '/v1/auth/login', { username: 'big', password: 'x'.repeat(20_000) });
        assert.equal(res.statusCode, 413);
        assert.equal(json(res).error, 'payload_too_large');
      });

      it('unknown routes are a JSON 404', async () => {
        const res = await t.app.inject({ url: '/v1/nope' });
        assert.equal(res.statusCode, 404);
        assert.equal(json(res).error, 'not_found');
      });
    });

    describe('login', () => {
      it('returns a token response with no-store', async () => {
        await register(t.app, 'loginner');
        const res = await post(t.app, '/v1/auth/login', { username: 'LOGINNER', password: PASSWORD });
        assert.equal(res.statusCode, 200);
        assert.equal(res.headers['cache-control'], 'no-store');
        const body = json<Tokens>(res);
        assert.equal(body.token_type, 'Bearer');
        assert.equal(body.expires_in, 600);
        assert.equal(body.refresh_expires_in, t.config.refreshIdleTtl);
        // Opaque to clients; it names its session (and so its region) and generation, under a 256-bit MAC.
        assert.match(body.refresh_token, /^local_[0-9a-z]{26}\.0\.[A-Za-z0-9_-]{43}$/);
        assert.equal(Buffer.from(body.refresh_token.split('.')[2]!, 'base64url').length, 32);
        const { header: h, claims: p } = decodeJws(body.access_token);
        assert.equal(h.typ, 'at+jwt');
        assert.equal(h.alg, 'ES256');
        assert.ok(h.kid);
        for (const claim of ['iss', 'sub', 'aud', 'exp', 'iat', 'jti', 'sid', 'region']) assert.ok(p[claim] !== undefined, claim);
        assert.equal(p.iss, 'https://auth.test');
        assert.equal(p.region, 'local');
      });

      it('wrong password and unknown user give the same status and body', async () => {
        await register(t.app, 'samebody');
        const wrong = await post(t.app, '/v1/auth/login', { username: 'samebody', password: 'not the right password' });
        const unknown = await post(t.app, '/v1/auth/login', { username: 'nobody-here', password: 'not the right password' });
        assert.equal(wrong.statusCode, 400);
        assert.equal(unknown.statusCode, 400);
        assert.equal(wrong.body, unknown.body);
        assert.equal(json(wrong).error, 'invalid_grant');
      });
    });

    describe('refresh, me, logout', () => {
      it('refresh returns a new refresh token and a working access token', async () => {
        const first = await login(t.app, 'refresher');
        const res = await post(t.app, '/v1/auth/refresh', { refresh_token: first.refresh_token });
        assert.equal(res.statusCode, 200);
        assert.equal(res.headers['cache-control'], 'no-store');
        const next = json<Tokens>(res);
        assert.notEqual(next.refresh_token, first.refresh_token);
        const me = await t.app.inject({ url: '/v1/auth/me', headers: bearer(next.access_token) });
        assert.equal(me.statusCode, 200);
      });

      it('unknown and malformed refresh tokens are invalid_grant', async () => {
        for (const token of [`local.${'A'.repeat(43)}`, 'garbage', '', 'x'.repeat(1000)]) {
          const res = await post(t.app, '/v1/auth/refresh', { refresh_token: token });
          assert.equal(res.statusCode, 400, token);
          assert.equal(json(res).error, 'invalid_grant');
        }
      });

      it('me answers from the token', async () => {
        const tokens = await login(t.app, 'meuser');
        const res = await t.app.inject({ url: '/v1/auth/me', headers: bearer(tokens.access_token) });
        const body = json(res);
        const claims = claimsOf(tokens.access_token);
        assert.deepEqual(body, { id: claims.sub, username: 'meuser', session_id: claims.sid, region: 'local' });
      });

      it('me without or with a bad token is 401 with WWW-Authenticate', async () => {
        for (const headers of [{}, { authorization: 'Bearer nope' }, { authorization: 'Basic abc' }, { authorization: 'Bearer ' }]) {
          const res = await t.app.inject({ url: '/v1/auth/me', headers });
          assert.equal(res.statusCode, 401);
          assert.equal(json(res).error, 'invalid_token');
          assert.equal(res.headers['www-authenticate'], 'Bearer error="invalid_token"');
        }
      });

      it('logout ends the session: refresh and access tokens rejected at once', async () => {
        const tokens = await login(t.app, 'leaver');
        const out = await post(t.app, '/v1/auth/logout', undefined, bearer(tokens.access_token));
        assert.equal(out.statusCode, 204);
        assert.equal((await t.app.inject({ url: '/v1/auth/me', headers: bearer(tokens.access_token) })).statusCode, 401);
        const r = await post(t.app, '/v1/auth/refresh', { refresh_token: tokens.refresh_token });
        assert.equal(json(r).error, 'invalid_grant');
        // Logging out twice with the same token: the token is dead now.
        assert.equal((await post(t.app, '/v1/auth/logout', {}, bearer(tokens.access_token))).statusCode, 401);
      });

      it('logout with all_sessions ends every session of the user only', async () => {
        const a = await login(t.app, 'many');
        const b = await login(t.app, 'many');
        const other = await login(t.app, 'bystander');
        assert.equal((await post(t.app, '/v1/auth/logout', { all_sessions: true }, bearer(a.access_token))).statusCode, 204);
        for (const s of [a, b]) {
          assert.equal((await t.app.inject({ url: '/v1/auth/me', headers: bearer(s.access_token) })).statusCode, 401);
          assert.equal((await post(t.app, '/v1/auth/refresh', { refresh_token: s.refresh_token })).statusCode, 400);
        }
        assert.equal((await t.app.inject({ url: '/v1/auth/me', headers: bearer(other.access_token) })).statusCode, 200);
        assert.equal((await post(t.app, '/v1/auth/refresh', { refresh_token: other.refresh_token })).statusCode, 200);
      });

      it("logout with a refresh_token also ends that session, if it is the caller's", async () => {
        const a = await login(t.app, 'twodevices');
        const b = await login(t.app, 'twodevices');
        const stranger = await login(t.app, 'stranger');
        const res = await post(t.app, '/v1/auth/logout', { refresh_token: b.refresh_token }, bearer(a.access_token));
        assert.equal(res.statusCode, 204);
        assert.equal((await post(t.app, '/v1/auth/refresh', { refresh_token: b.refresh_token })).statusCode, 400);
        // Someone else's refresh token is left alone.
        const c = await login(t.app, 'twodevices');
        await post(t.app, '/v1/auth/logout', { refresh_token: stranger.refresh_token }, bearer(c.access_token));
        assert.equal((await post(t.app, '/v1/auth/refresh', { refresh_token: stranger.refresh_token })).statusCode, 200);
      });

      it('logout refuses bad bodies with invalid_request', async () => {
        const tokens = await login(t.app, 'badlogout');
        const res = await post(t.app, '/v1/auth/logout', { all_sessions: 'yes' }, bearer(tokens.access_token));
        assert.equal(res.statusCode, 400);
        assert.equal(json(res).error, 'invalid_request');
      });
    });

    describe('well-known and health', () => {
      it('JWKS lists the signing key with kid and alg', async () => {
        const tokens = await login(t.app, 'jwksuser');
        const { kid } = decodeJws(tokens.access_token).header;
        const res = await t.app.inject({ url: '/.well-known/jwks.json' });
        assert.equal(res.statusCode, 200);
        const keys = json<{ keys: Record<string, string>[] }>(res).keys;
        const key = keys.find((k) => k.kid === kid);
        assert.ok(key);
        assert.equal(key.alg, 'ES256');
        assert.equal(key.use, 'sig');
        for (const k of keys) assert.equal(k.d, undefined, 'no private part');
      });

      it('healthz and readyz answer 200; every response names the region and a request id', async () => {
        const h = await t.app.inject({ url: '/healthz' });
        assert.equal(h.statusCode, 200);
        assert.equal(h.headers['x-meridian-region'], 'local');
        assert.ok(h.headers['x-request-id']);
        const r = await t.app.inject({ url: '/readyz' });
        assert.equal(r.statusCode, 200);
        assert.deepEqual(json(r).checks, { database: 'ok', cache: 'ok' });
      });
    });
  });
}

describe('optional bodies', () => {
  it('logout with a JSON content type and an empty body is a plain logout; required bodies still 400', async () => {
    const t = await createTestApp({ backend: 'pglite' });
    try {
      const tokens = await login(t.app, 'empty-body');
      const out = await t.app.inject({
        method: 'POST',
        url: '/v1/auth/logout',
        headers: { 'content-type': 'application/json', ...bearer(tokens.access_token) },
        payload: '',
      });
      assert.equal(out.statusCode, 204, out.body);
      const refresh = await t.app.inject({ method: 'POST', url: '/v1/auth/refresh', headers: { 'content-type': 'application/json' }, payload: '' });
      assert.equal(refresh.statusCode, 400);
      assert.equal(json(refresh).error, 'invalid_request');
    } finally {
      await t.close();
    }
  });
});
