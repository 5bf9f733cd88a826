/**
 * Interoperability with clients nobody here wrote: openid-client reads the
 * RFC 8414 metadata and runs the grants, revocation and introspection; jose
 * verifies access tokens against the published JWKS, for every signing
 * algorithm the server offers.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import { bearer, json, PASSWORD, register, startTestServer, type TestServer } from './helpers.js';

const INTROSPECTION = 'introspection-secret-0123456789';

describe('openid-client', () => {
  let t: TestServer;
  let config: oidc.Configuration;
  before(async () => {
    t = await startTestServer({ env: { MERIDIAN_INTROSPECTION_TOKEN: INTROSPECTION } });
    await register(t.app, 'interop');
    // Plain HTTP on loopback is a test-only allowance; discovery is RFC 8414 (`algorithm: 'oauth2'`).
    config = await oidc.discovery(new URL(t.url), t.config.clientId, undefined, oidc.None(), { algorithm: 'oauth2', execute: [oidc.allowInsecureRequests] });
  });
  after(() => t.close());

  it('reads the authorization server metadata', () => {
    const m = config.serverMetadata();
    assert.equal(m.issuer, t.url);
    assert.equal(m.token_endpoint, `${t.url}/oauth/token`);
    assert.equal(m.revocation_endpoint, `${t.url}/oauth/revoke`);
    assert.equal(m.introspection_endpoint, `${t.url}/oauth/introspect`);
    assert.equal(m.jwks_uri, `${t.url}/.well-known/jwks.json`);
  });

  it('performs the password and refresh_token grants', async () => {
    const first = await oidc.genericGrantRequest(config, 'password', { username: 'interop', password: PASSWORD });
    assert.equal(first.token_type, 'bearer'); // normalized to lower case by the library
    assert.ok(first.refresh_token);
    const second = await oidc.refreshTokenGrant(config, first.refresh_token);
    assert.ok(second.refresh_token);
    assert.notEqual(second.refresh_token, first.refresh_token);
    // The field as sent: expiresIn() counts down from the moment the answer arrived, so it may already read one second less.
    assert.equal(second.expires_in, t.config.accessTokenTtl);
    const me = await t.app.inject({ url: '/v1/auth/me', headers: bearer(second.access_token) });
    assert.equal(json(me).username, 'interop');
  });

  it('surfaces RFC 6749 errors as the library expects them', async () => {
    await assert.rejects(oidc.refreshTokenGrant(config, 'local.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'), (err: unknown) => {
      assert.ok(err instanceof oidc.ResponseBodyError);
      assert.equal(err.error, 'invalid_grant');
      assert.equal(err.status, 400);
      return true;
    });
  });

  it('revokes (RFC 7009) and introspects (RFC 7662) with the bearer service token', async () => {
    const tokens = await oidc.genericGrantRequest(config, 'password', { username: 'interop', password: PASSWORD });
    const introspector = new oidc.Configuration(config.serverMetadata(), t.config.clientId, undefined, (_as, _client, _body, headers) => {
      headers.set('authorization', `Bearer ${INTROSPECTION}`);
    });
    oidc.allowInsecureRequests(introspector);
    const live = await oidc.tokenIntrospection(introspector, tokens.access_token);
    assert.equal(live.active, true);
    assert.equal(live.username, 'interop');

    await oidc.tokenRevocation(config, tokens.refresh_token as string);
    assert.deepEqual(await oidc.tokenIntrospection(introspector, tokens.access_token), { active: false });
    await assert.rejects(
      oidc.refreshTokenGrant(config, tokens.refresh_token as string),
      (err: unknown) => (err as oidc.ResponseBodyError).error === 'invalid_grant',
    );
    // Unknown tokens are accepted silently.
    await oidc.tokenRevocation(config, 'not-a-token');
  });
});

for (const alg of ['ES256', 'EdDSA', 'RS256']) {
  describe(`jose createRemoteJWKSet (${alg})`, () => {
    let t: TestServer;
    before(async () => {
      t = await startTestServer({ backend: 'pglite', env: { MERIDIAN_SIGNING_ALG: alg } });
    });
    after(() => t.close());

    it('verifies an access token as RFC 9068 prescribes', async () => {
      await register(t.app, 'jose-user');
      const login = await t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { username: 'jose-user', password: PASSWORD } });
      const { access_token } = json<{ access_token: string }>(login);
      const jwks = createRemoteJWKSet(new URL(`${t.url}/.well-known/jwks.json`));
      const { payload, protectedHeader } = await jwtVerify(access_token, jwks, {
        issuer: t.url,
        audience: t.config.audience,
        typ: 'at+jwt',
        algorithms: [alg],
        currentDate: new Date(t.clock.now()),
        requiredClaims: ['iss', 'sub', 'aud', 'exp', 'iat', 'jti', 'sid', 'client_id'],
      });
      assert.equal(protectedHeader.alg, alg);
      assert.equal(payload.client_id, t.config.clientId);
      assert.equal(payload.region, t.config.region);
      // A token signed by anyone else fails the same check.
      const forged = `${access_token.slice(0, access_token.lastIndexOf('.'))}.${Buffer.alloc(64, 1).toString('base64url')}`;
      await assert.rejects(jwtVerify(forged, jwks, { issuer: t.url, audience: t.config.audience, currentDate: new Date(t.clock.now()) }));
    });
  });
}
