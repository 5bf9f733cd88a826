/**
 * The standard OAuth endpoints (RFC 6749 token, RFC 7009 revoke, RFC 7662
 * introspect, RFC 8414 metadata) over the same services as /v1.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { bearer, createTestApp, json, login, PASSWORD, post, register, type TestApp, type Tokens } from './helpers.js';
import { flipS, nonCanonical } from './token-variants.js';

// Any printable characters are allowed in service tokens, not only RFC 6750's b64token ones.
const INTROSPECTION = 'introspection#secret!0123456789';
const ADMIN = 'admin-secret-0123456789abcdef';
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

describe('OAuth endpoints', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ env: { MERIDIAN_INTROSPECTION_TOKEN: INTROSPECTION, MERIDIAN_ADMIN_TOKEN: ADMIN } });
    await register(t.app, 'oauth-user');
  });
  after(() => t.close());

  const form = (url: string, params: Record<string, string>, headers: Record<string, string> = {}) =>
    t.app.inject({ method: 'POST', url, headers: { ...FORM, ...headers }, payload: new URLSearchParams(params).toString() });
  const introspect = (token: string, secret = INTROSPECTION) => form('/oauth/introspect', { token }, bearer(secret));
  const me = (access: string) => t.app.inject({ url: '/v1/auth/me', headers: bearer(access) });
  const passwordGrant = async (): Promise<Tokens> => {
    const res = await form('/oauth/token', { grant_type: 'password', username: 'oauth-user', password: PASSWORD });
    assert.equal(res.statusCode, 200, res.body);
    return json<Tokens>(res);
  };

  describe('POST /oauth/token', () => {
    it('password grant from a form gives an RFC 6749 token response that is not cached', async () => {
      const res = await form('/oauth/token', { grant_type: 'password', username: 'oauth-user', password: PASSWORD, client_id: 'meridian' });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.headers['cache-control'], 'no-store');
      const body = json(res);
      assert.equal(body.token_type, 'Bearer');
      assert.equal(typeof body.access_token, 'string');
      assert.equal(typeof body.refresh_token, 'string');
      assert.equal(body.expires_in, t.config.accessTokenTtl);
      assert.equal((await me(body.access_token as string)).statusCode, 200);
    });

    it('refresh grant rotates, as JSON and as a form', async () => {
      const first = await passwordGrant();
      const viaJson = await post(t.app, '/oauth/token', { grant_type: 'refresh_token', refresh_token: first.refresh_token });
      assert.equal(viaJson.statusCode, 200, viaJson.body);
      const second = json<Tokens>(viaJson);
      assert.notEqual(second.refresh_token, first.refresh_token);
      const viaForm = await form('/oauth/token', { grant_type: 'refresh_token', refresh_token: second.refresh_token });
      assert.equal(viaForm.statusCode, 200, viaForm.body);
    });

    it('answers RFC 6749 §5.2 errors', async () => {
      const cases: [Record<string, string>, number, string][] = [
        [{ grant_type: 'client_credentials' }, 400, 'unsupported_grant_type'],
        [{ grant_type: 'authorization_code', code: 'x' }, 400, 'unsupported_grant_type'],
        [{}, 400, 'invalid_request'],
        [{ grant_type: 'password', username: 'oauth-user' }, 400, 'invalid_request'],
        [{ grant_type: 'password', password: PASSWORD }, 400, 'invalid_request'],
        [{ grant_type: 'refresh_token' }, 400, 'invalid_request'],
        [{ grant_type: 'refresh_token', refresh_token: 'local.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }, 400, 'invalid_grant'],
        [{ grant_type: 'password', username: 'oauth-user', password: 'not the password at all' }, 400, 'invalid_grant'],
        [{ grant_type: 'password', username: 'oauth-user', password: PASSWORD, scope: 'admin' }, 400, 'invalid_scope'],
        [{ grant_type: 'password', username: 'oauth-user', password: PASSWORD, client_id: 'someone-else' }, 401, 'invalid_client'],
      ];
      for (const [params, status, error] of cases) {
        const res = await form('/oauth/token', params);
        assert.equal(res.statusCode, status, `${JSON.stringify(params)}: ${res.body}`);
        const body = json(res);
        assert.equal(body.error, error, JSON.stringify(params));
        assert.equal(typeof body.error_description, 'string');
        assert.deepEqual(Object.keys(body).sort(), ['error', 'error_description']);
      }
    });

    it('refuses a repeated parameter, a mistyped JSON field and other media types', async () => {
      const repeated = await t.app.inject({ method: 'POST', url: '/oauth/token', headers: FORM, payload: 'grant_type=password&grant_type=refresh_token' });
      assert.equal(repeated.statusCode, 400);
      assert.equal(json(repeated).error, 'invalid_request');
      const typed = await post(t.app, '/oauth/token', { grant_type: 'refresh_token', refresh_token: 42 });
      assert.equal(json(typed).error, 'invalid_request');
      const text = await t.app.inject({ method: 'POST', url: '/oauth/token', headers: { 'content-type': 'text/plain' }, payload: 'grant_type=password' });
      assert.equal(text.statusCode, 415);
    });

    it('keeps /v1 JSON-only: a form body there is a 415', async () => {
      const res = await form('/v1/auth/login', { username: 'oauth-user', password: PASSWORD });
      assert.equal(res.statusCode, 415);
      assert.equal(json(res).error, 'unsupported_media_type');
    });
  });

  describe('POST /oauth/revoke (RFC 7009)', () => {
    it('answers 200 for unknown and malformed tokens', async () => {
      for (const token of ['nonsense', 'local.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', 'a.b.c', 'x'.repeat(9000)]) {
        const res = await form('/oauth/revoke', { token, token_type_hint: 'refresh_token' });
        assert.equal(res.statusCode, 200, res.body);
        assert.equal(res.body, '');
      }
    });

    it('requires the token parameter', async () => {
      const res = await form('/oauth/revoke', { token_type_hint: 'access_token' });
      assert.equal(res.statusCode, 400);
      assert.equal(json(res).error, 'invalid_request');
    });

    it('revoking a refresh token ends its session: refresh and access token both refused', async () => {
      const tokens = await passwordGrant();
      // The hint is wrong on purpose: the server must look further (RFC 7009 §2.1).
      assert.equal((await form('/oauth/revoke', { token: tokens.refresh_token, token_type_hint: 'access_token' })).statusCode, 200);
      const refreshed = await form('/oauth/token', { grant_type: 'refresh_token', refresh_token: tokens.refresh_token });
      assert.equal(json(refreshed).error, 'invalid_grant');
      assert.equal((await me(tokens.access_token)).statusCode, 401);
    });

    it('revoking an access token ends its session too', async () => {
      const tokens = await passwordGrant();
      assert.equal((await post(t.app, '/oauth/revoke', { token: tokens.access_token })).statusCode, 200);
      assert.equal((await me(tokens.access_token)).statusCode, 401);
      const refreshed = await form('/oauth/token', { grant_type: 'refresh_token', refresh_token: tokens.refresh_token });
      assert.equal(json(refreshed).error, 'invalid_grant');
      // Revoking it again is still a 200.
      assert.equal((await form('/oauth/revoke', { token: tokens.access_token })).statusCode, 200);
    });
  });

  describe('POST /oauth/introspect (RFC 7662)', () => {
    it('refuses callers without the introspection or admin token, before reading the body', async () => {
      const tokens = await passwordGrant();
      for (const headers of [{}, bearer('wrong-secret-0123456789'), bearer(tokens.access_token), { authorization: `Basic ${btoa(`x:${INTROSPECTION}`)}` }]) {
        const res = await form('/oauth/introspect', { token: tokens.access_token }, headers);
        assert.equal(res.statusCode, 401, res.body);
        assert.equal(json(res).error, 'invalid_token');
        assert.match(String(res.headers['www-authenticate']), /^Bearer/);
      }
      const unread = await t.app.inject({ method: 'POST', url: '/oauth/introspect', headers: FORM, payload: 'token=a&token=b' });
      assert.equal(unread.statusCode, 401);
    });

    it('describes a live access token with its standard claims (introspection or admin token)', async () => {
      const tokens = await passwordGrant();
      for (const secret of [INTROSPECTION, ADMIN]) {
        const res = await introspect(tokens.access_token, secret);
        assert.equal(res.statusCode, 200, res.body);
        const body = json(res);
        assert.equal(body.active, true);
        assert.equal(body.token_type, 'Bearer');
        assert.equal(body.iss, t.config.issuer);
        assert.equal(body.aud, t.config.audience);
        assert.equal(body.client_id, t.config.clientId);
        assert.equal(body.username, 'oauth-user');
        for (const claim of ['sub', 'jti', 'sid', 'region']) assert.equal(typeof body[claim], 'string', claim);
        for (const claim of ['exp', 'iat']) assert.equal(typeof body[claim], 'number', claim);
      }
    });

    it('describes a live refresh token, and only while it can be redeemed', async () => {
      const tokens = await passwordGrant();
      const live = json(await introspect(tokens.refresh_token));
      assert.equal(live.active, true);
      assert.equal(live.token_type, 'refresh_token');
      assert.equal(live.username, 'oauth-user');
      assert.ok((live.exp as number) > t.clock.now() / 1000);
      await form('/oauth/token', { grant_type: 'refresh_token', refresh_token: tokens.refresh_token });
      // Consumed (even inside the grace window) is inactive.
      assert.equal((await introspect(tokens.refresh_token)).body, '{"active":false}');
    });

    it('answers exactly {"active":false} for anything inactive', async () => {
      const revoked = await passwordGrant();
      await form('/oauth/revoke', { token: revoked.refresh_token });
      const expired = await passwordGrant();
      const inactive = [
        'garbage',
        'local.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
        `${revoked.access_token.slice(0, -4)}AAAA`,
        revoked.access_token,
        revoked.refresh_token,
      ];
      for (const token of inactive) assert.equal((await introspect(token)).body, '{"active":false}', token.slice(0, 20));
      // Longer than any token the server issues, but within the body limit: inactive, not a 400.
      for (const token of ['x'.repeat(9000), `${revoked.access_token}${'A'.repeat(9000)}`]) {
        const res = await introspect(token);
        assert.equal(res.statusCode, 200, res.body);
        assert.equal(res.body, '{"active":false}');
      }
      const tooBig = await introspect('x'.repeat(t.config.bodyLimit));
      assert.equal(tooBig.statusCode, 413, 'the body limit still holds');
      assert.equal(json(tooBig).error, 'payload_too_large');
      t.clock.advance((t.config.accessTokenTtl + t.config.clockSkewSeconds + 1) * 1000);
      assert.equal((await introspect(expired.access_token)).body, '{"active":false}');
      // Idle expiry of the refresh token.
      t.clock.advance(t.config.refreshIdleTtl * 1000);
      assert.equal((await introspect(expired.refresh_token)).body, '{"active":false}');
    });

    it('answers {"active":false} for other spellings of a live access token', async () => {
      const live = await passwordGrant();
      for (const [label, token] of [['high-S twin', flipS(live.access_token)], ...nonCanonical(live.access_token)] as Array<[string, string]>) {
        assert.equal((await introspect(token)).body, '{"active":false}', label);
      }
      assert.equal(json(await introspect(live.access_token)).active, true, 'control');
    });
  });

  it('publishes RFC 8414 metadata that names the endpoints above', async () => {
    const res = await t.app.inject({ url: '/.well-known/oauth-authorization-server' });
    assert.equal(res.statusCode, 200);
    const m = json(res);
    assert.equal(m.issuer, t.config.issuer);
    assert.equal(m.token_endpoint, `${t.config.issuer}/oauth/token`);
    assert.equal(m.revocation_endpoint, `${t.config.issuer}/oauth/revoke`);
    assert.equal(m.introspection_endpoint, `${t.config.issuer}/oauth/introspect`);
    assert.equal(m.jwks_uri, `${t.config.issuer}/.well-known/jwks.json`);
    assert.deepEqual(m.grant_types_supported, ['password', 'refresh_token']);
    assert.deepEqual(m.token_endpoint_auth_methods_supported, ['none']);
  });
});

describe('introspection with no service token configured', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ backend: 'pglite' });
  });
  after(() => t.close());

  it('refuses every caller', async () => {
    const tokens = await login(t.app, 'lonely');
    const res = await t.app.inject({
      method: 'POST',
      url: '/oauth/introspect',
      headers: { ...FORM, ...bearer('anything-at-all-0123') },
      payload: `token=${tokens.access_token}`,
    });
    assert.equal(res.statusCode, 401);
  });
});

describe('with the password grant turned off (MERIDIAN_OAUTH_PASSWORD_GRANT=false)', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ backend: 'pglite', env: { MERIDIAN_OAUTH_PASSWORD_GRANT: 'false' } });
    await register(t.app, 'first-party');
  });
  after(() => t.close());

  const token = (params: Record<string, string>) =>
    t.app.inject({ method: 'POST', url: '/oauth/token', headers: FORM, payload: new URLSearchParams(params).toString() });

  it('refuses grant_type=password with unsupported_grant_type (RFC 6749 §5.2), good credentials or not', async () => {
    const attempts: Record<string, string>[] = [{ username: 'first-party', password: PASSWORD }, { username: 'first-party' }];
    for (const params of attempts) {
      const res = await token({ grant_type: 'password', ...params });
      assert.equal(res.statusCode, 400, res.body);
      assert.deepEqual(json(res), { error: 'unsupported_grant_type', error_description: 'grant_type must be one of: refresh_token' });
    }
  });

  it('leaves it out of the RFC 8414 metadata', async () => {
    const m = json(await t.app.inject({ url: '/.well-known/oauth-authorization-server' }));
    assert.deepEqual(m.grant_types_supported, ['refresh_token']);
  });

  it('still logs in at /v1/auth/login, and the refresh_token grant rotates its tokens', async () => {
    const res = await post(t.app, '/v1/auth/login', { username: 'first-party', password: PASSWORD });
    assert.equal(res.statusCode, 200, res.body);
    const first = json<Tokens>(res);
    const refreshed = await token({ grant_type: 'refresh_token', refresh_token: first.refresh_token });
    assert.equal(refreshed.statusCode, 200, refreshed.body);
    assert.notEqual(json<Tokens>(refreshed).refresh_token, first.refresh_token);
  });
});
