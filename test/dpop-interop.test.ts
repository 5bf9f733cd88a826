/**
 * DPoP with clients nobody here wrote: openid-client's getDPoPHandle signs
 * the proofs (and follows the server's nonces) for the password and refresh
 * grants and a protected resource; jose checks the access token's cnf.jkt
 * against the thumbprint of the client's key.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { calculateJwkThumbprint, createRemoteJWKSet, exportJWK, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import { ManualClock } from '../src/util/runtime.js';
import { PASSWORD, register, startTestServer, type TestServer } from './helpers.js';

for (const alg of ['ES256', 'EdDSA']) {
  describe(`openid-client DPoP (${alg}, server nonces on)`, () => {
    let t: TestServer;
    let config: oidc.Configuration;
    before(async () => {
      // The library stamps proofs with the real time: the server's clock starts there too.
      t = await startTestServer({ clock: new ManualClock(Date.now()), env: { MERIDIAN_DPOP_NONCE: 'true' } });
      await register(t.app, 'dpop-interop');
      config = await oidc.discovery(new URL(t.url), t.config.clientId, undefined, oidc.None(), { algorithm: 'oauth2', execute: [oidc.allowInsecureRequests] });
    });
    after(() => t.close());

    it('advertises the proof algorithms', () => {
      const algs = config.serverMetadata().dpop_signing_alg_values_supported ?? [];
      assert.ok(algs.includes(alg), String(algs));
    });

    it('runs the password and refresh grants with proofs; the tokens are bound to the key, as jose sees it', async () => {
      const keyPair = await oidc.randomDPoPKeyPair(alg);
      const DPoP = oidc.getDPoPHandle(config, keyPair);
      const first = await oidc.genericGrantRequest(config, 'password', { username: 'dpop-interop', password: PASSWORD }, { DPoP });
      assert.equal(first.token_type, 'dpop');
      const second = await oidc.refreshTokenGrant(config, first.refresh_token as string, undefined, { DPoP });
      assert.equal(second.token_type, 'dpop');

      const jkt = await calculateJwkThumbprint(await exportJWK(keyPair.publicKey));
      const jwks = createRemoteJWKSet(new URL(`${t.url}/.well-known/jwks.json`));
      const { payload } = await jwtVerify(second.access_token, jwks, { issuer: t.url, audience: t.config.audience, typ: 'at+jwt' });
      assert.deepEqual(payload.cnf, { jkt });

      const me = await oidc.fetchProtectedResource(config, second.access_token, new URL(`${t.url}/v1/auth/me`), 'GET', undefined, undefined, { DPoP });
      assert.equal(me.status, 200);
      assert.equal(((await me.json()) as { username: string }).username, 'dpop-interop');

      // A refresh with another key is refused as RFC 9449 says, and the session survives it.
      const thief = oidc.getDPoPHandle(config, await oidc.randomDPoPKeyPair(alg));
      await assert.rejects(oidc.refreshTokenGrant(config, second.refresh_token as string, undefined, { DPoP: thief }), (err: unknown) => {
        assert.equal((err as oidc.ResponseBodyError).error, 'invalid_dpop_proof');
        return true;
      });
      const third = await oidc.refreshTokenGrant(config, second.refresh_token as string, undefined, { DPoP });
      assert.equal(third.token_type, 'dpop');
    });
  });
}
