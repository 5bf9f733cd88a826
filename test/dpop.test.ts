import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { claimsOf, createTestApp, json, PASSWORD, post, register, type TestApp, type Tokens } from './helpers.js';
import { DpopKey, hmacProof, unsignedProof } from './dpop-keys.js';

/** RFC 9449 at the token endpoints and the protected ones, with the attacks the binding must survive. */
for (const backend of ['postgres', 'pglite'] as const) {
  describe(`DPoP-bound sessions (${backend})`, () => {
    let t: TestApp;
    before(async () => {
      t = await createTestApp({ backend });
    });
    after(() => t.close());

    const loginWith = async (name: string, key?: DpopKey) => {
      await register(t.app, name);
      return post(t.app, '/v1/auth/login', { username: name, password: PASSWORD }, key ? { dpop: key.proof('POST', '/v1/auth/login') } : {});
    };
    const refreshWith = (token: string, proof?: string) => post(t.app, '/v1/auth/refresh', { refresh_token: token }, proof ? { dpop: proof } : {});
    const me = (scheme: string, access: string, proof?: string) =>
      t.app.inject({ method: 'GET', url: '/v1/auth/me', headers: { authorization: `${scheme} ${access}`, ...(proof ? { dpop: proof } : {}) } });
    const session = async (sid: string) =>
      (await t.db.query<{ revoked_at: Date | null; dpop_jkt: string | null }>('SELECT revoked_at, dpop_jkt FROM sessions WHERE id = $1', [sid])).rows[0]!;
    const refused = (res: Awaited<ReturnType<typeof post>>, error = 'invalid_dpop_proof') => {
      assert.equal(res.statusCode, 400, res.body);
      assert.equal(json(res).error, error);
    };

    /** A bound session and its key. */
    const bound = async (name: string, alg: 'ES256' | 'EdDSA' = 'ES256') => {
      const key = new DpopKey(t.clock, alg);
      const res = await loginWith(name, key);
      assert.equal(res.statusCode, 200, res.body);
      const tokens = json<Tokens>(res);
      return { key, tokens, sid: claimsOf(tokens.access_token).sid };
    };

    it('a login with a proof binds the session: token_type DPoP, cnf.jkt, the thumbprint stored', async () => {
      for (const alg of ['ES256', 'EdDSA'] as const) {
        const { key, tokens, sid } = await bound(`binder-${alg.toLowerCase()}`, alg);
        assert.equal(tokens.token_type, 'DPoP');
        assert.deepEqual(claimsOf(tokens.access_token).cnf, { jkt: key.jkt });
        assert.equal((await session(sid)).dpop_jkt, key.jkt);
      }
      // EdDSA's fully specified name (RFC 9864), as some libraries send it.
      const key = new DpopKey(t.clock, 'EdDSA');
      await register(t.app, 'binder-ed25519');
      const res = await post(
        t.app,
        '/v1/auth/login',
        { username: 'binder-ed25519', password: PASSWORD },
        {
          dpop: key.proof('POST', '/v1/auth/login', { header: { alg: 'Ed25519' } }),
        },
      );
      assert.equal(json<Tokens>(res).token_type, 'DPoP');
    });

    it('every refresh needs a proof by the same key, and its tokens stay bound', async () => {
      const { key, tokens } = await bound('refresher');
      const res = await refreshWith(tokens.refresh_token, key.proof('POST', '/v1/auth/refresh'));
      assert.equal(res.statusCode, 200, res.body);
      const next = json<Tokens>(res);
      assert.equal(next.token_type, 'DPoP');
      assert.deepEqual(claimsOf(next.access_token).cnf, { jkt: key.jkt });
    });

    it('a stolen bound refresh token without the key is refused and the session lives on', async () => {
      const { key, tokens, sid } = await bound('victim-nokey');
      refused(await refreshWith(tokens.refresh_token));
      refused(await refreshWith(tokens.refresh_token, new DpopKey(t.clock).proof('POST', '/v1/auth/refresh')));
      assert.equal((await session(sid)).revoked_at, null);
      // The token was not consumed: its owner refreshes with it as before.
      assert.equal((await refreshWith(tokens.refresh_token, key.proof('POST', '/v1/auth/refresh'))).statusCode, 200);
    });

    it('an already rotated bound token replayed without the key is not reuse: the family is not revoked', async () => {
      const { key, tokens, sid } = await bound('victim-rotated');
      assert.equal((await refreshWith(tokens.refresh_token, key.proof('POST', '/v1/auth/refresh'))).statusCode, 200);
      t.clock.advance(60_000);
      refused(await refreshWith(tokens.refresh_token));
      refused(await refreshWith(tokens.refresh_token, new DpopKey(t.clock).proof('POST', '/v1/auth/refresh')));
      assert.equal((await session(sid)).revoked_at, null);
    });

    it('malformed, replayed and mismatched proofs are refused with invalid_dpop_proof, none revoking the session', async () => {
      const { key, tokens, sid } = await bound('victim-proofs');
      const path = '/v1/auth/refresh';
      const nowSeconds = () => Math.floor(t.clock.now() / 1000);
      const replayed = key.proof('POST', path, { claims: { jti: 'used-once' } });
      const first = await refreshWith(tokens.refresh_token, replayed);
      assert.equal(first.statusCode, 200, first.body);
      const current = json<Tokens>(first).refresh_token;
      const attacks: Record<string, string> = {
        replayed,
        'wrong htm': key.proof('GET', path),
        'wrong htu': key.proof('POST', '/v1/auth/login'),
        'another host': key.proof('POST', path, { claims: { htu: `https://evil.test${path}` } }),
        'stale iat': key.proof('POST', path, { claims: { iat: nowSeconds() - 3600 } }),
        'future iat': key.proof('POST', path, { claims: { iat: nowSeconds() + 3600 } }),
        'no jti': key.proof('POST', path, { claims: { jti: undefined } }),
        'wrong typ': key.proof('POST', path, { header: { typ: 'JWT' } }),
        'critical extension': key.proof('POST', path, { header: { crit: ['exp'], exp: 1 } }),
        'key of another type': key.proof('POST', path, { header: { alg: 'EdDSA' } }),
        'alg none': unsignedProof(key, t.clock, path),
        HS256: hmacProof(key, t.clock, path),
        'private key in jwk': key.proof('POST', path, { header: { jwk: key.privateJwk() } }),
        'not a JWS': 'not-a-proof',
        'bad signature': `${key.proof('POST', path).slice(0, -4)}AAAA`,
      };
      for (const [name, proof] of Object.entries(attacks)) {
        const res = await refreshWith(current, proof);
        assert.equal(res.statusCode, 400, `${name}: ${res.body}`);
        assert.equal(json(res).error, 'invalid_dpop_proof', name);
      }
      assert.equal((await session(sid)).revoked_at, null);
      assert.equal((await refreshWith(current, key.proof('POST', path))).statusCode, 200);
    });

    it('protected endpoints take a bound token only as DPoP with a proof naming it (ath)', async () => {
      const { key, tokens } = await bound('resource');
      const access = tokens.access_token;
      const ok = await me('DPoP', access, key.proof('GET', '/v1/auth/me', { accessToken: access }));
      assert.equal(ok.statusCode, 200, ok.body);

      const asBearer = await me('Bearer', access);
      assert.equal(asBearer.statusCode, 401);
      assert.equal(json(asBearer).error, 'invalid_token');
      assert.match(String(asBearer.headers['www-authenticate']), /^DPoP error="invalid_token"/);

      const cases: Record<string, string | undefined> = {
        'no proof': undefined,
        'ath of another token': key.proof('GET', '/v1/auth/me', { accessToken: `${access}x` }),
        'no ath': key.proof('GET', '/v1/auth/me'),
        'another key': new DpopKey(t.clock).proof('GET', '/v1/auth/me', { accessToken: access }),
        'wrong htm': key.proof('POST', '/v1/auth/me', { accessToken: access }),
      };
      for (const [name, proof] of Object.entries(cases)) {
        const res = await me('DPoP', access, proof);
        assert.equal(res.statusCode, 400, `${name}: ${res.body}`);
        assert.equal(json(res).error, 'invalid_dpop_proof', name);
        assert.match(String(res.headers['www-authenticate']), /^DPoP error="invalid_dpop_proof"/, name);
      }
    });

    it('logout checks the proof too, and ends the session with one', async () => {
      const { key, tokens, sid } = await bound('leaver');
      const access = tokens.access_token;
      const logout = (proof?: string) => post(t.app, '/v1/auth/logout', {}, { authorization: `DPoP ${access}`, ...(proof ? { dpop: proof } : {}) });
      const stolen = await post(t.app, '/v1/auth/logout', {}, { authorization: `Bearer ${access}` });
      assert.equal(stolen.statusCode, 401);
      assert.equal((await logout(new DpopKey(t.clock).proof('POST', '/v1/auth/logout', { accessToken: access }))).statusCode, 400);
      assert.equal((await session(sid)).revoked_at, null);
      assert.equal((await logout(key.proof('POST', '/v1/auth/logout', { accessToken: access }))).statusCode, 204);
      assert.notEqual((await session(sid)).revoked_at, null);
    });

    it('revocation (RFC 7009) of a bound session needs its key: a stolen token cannot log its victim out', async () => {
      const { key, tokens, sid } = await bound('victim-revoke');
      const revoke = (token: string, proof?: string) => post(t.app, '/oauth/revoke', { token }, proof ? { dpop: proof } : {});
      for (const token of [tokens.refresh_token, tokens.access_token]) {
        refused(await revoke(token));
        refused(await revoke(token, new DpopKey(t.clock).proof('POST', '/oauth/revoke')));
      }
      assert.equal((await session(sid)).revoked_at, null);
      assert.equal((await revoke(tokens.refresh_token, key.proof('POST', '/oauth/revoke'))).statusCode, 200);
      assert.notEqual((await session(sid)).revoked_at, null);
    });

    it('an unbound session keeps working as Bearer, and a refresh with a proof binds it for good', async () => {
      const plain = await loginWith('unbound');
      const tokens = json<Tokens>(plain);
      assert.equal(tokens.token_type, 'Bearer');
      assert.equal(claimsOf(tokens.access_token).cnf, undefined);
      const plainRefresh = await refreshWith(tokens.refresh_token);
      assert.equal(plainRefresh.statusCode, 200);
      assert.equal(json<Tokens>(plainRefresh).token_type, 'Bearer');
      const key = new DpopKey(t.clock);
      const binding = await refreshWith(json<Tokens>(plainRefresh).refresh_token, key.proof('POST', '/v1/auth/refresh'));
      assert.equal(binding.statusCode, 200, binding.body);
      const boundTokens = json<Tokens>(binding);
      assert.equal(boundTokens.token_type, 'DPoP');
      assert.equal((await session(claimsOf(boundTokens.access_token).sid)).dpop_jkt, key.jkt);
      refused(await refreshWith(boundTokens.refresh_token));
    });

    it('/oauth/token takes proofs for both grants; the metadata lists the algorithms', async () => {
      await register(t.app, 'oauth-dpop');
      const key = new DpopKey(t.clock, 'EdDSA');
      const form = (body: Record<string, string>) =>
        t.app.inject({
          method: 'POST',
          url: '/oauth/token',
          headers: { 'content-type': 'application/x-www-form-urlencoded', dpop: key.proof('POST', '/oauth/token') },
          payload: new URLSearchParams(body).toString(),
        });
      const first = await form({ grant_type: 'password', username: 'oauth-dpop', password: PASSWORD });
      assert.equal(first.statusCode, 200, first.body);
      assert.equal(json<Tokens>(first).token_type, 'DPoP');
      const second = await form({ grant_type: 'refresh_token', refresh_token: json<Tokens>(first).refresh_token });
      assert.equal(second.statusCode, 200, second.body);
      const meta = json<{ dpop_signing_alg_values_supported: string[] }>(await t.app.inject({ url: '/.well-known/oauth-authorization-server' }));
      assert.ok(meta.dpop_signing_alg_values_supported.includes('ES256'));
      assert.ok(meta.dpop_signing_alg_values_supported.includes('EdDSA'));
      const introspection = await t.app.inject({
        method: 'POST',
        url: '/oauth/introspect',
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify({ token: json<Tokens>(second).access_token }),
      });
      assert.equal(introspection.statusCode, 401); // no introspection token configured: the binding shows in the claims instead
      assert.deepEqual(claimsOf(json<Tokens>(second).access_token).cnf, { jkt: key.jkt });
    });
  });
}
