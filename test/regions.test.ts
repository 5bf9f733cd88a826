import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { isAppError } from '../src/errors.js';
import { PeerClient } from '../src/regions/peer-client.js';
import { after, before, describe, it } from 'node:test';
import { bearer, claimsOf, createTestApp, decodeJws, json, PASSWORD, post, register, type Tokens } from './helpers.js';
import { type RegionSet, startRegions, syncKeys } from './regions-harness.js';

describe('two regions', () => {
  let set: RegionSet;
  const a = () => set.nodes.a!.t;
  const b = () => set.nodes.b!.t;
  const loginAt = async (t: typeof a, username: string): Promise<Tokens> => {
    const res = await post(t().app, '/v1/auth/login', { username, password: PASSWORD });
    assert.equal(res.statusCode, 200, res.body);
    return json<Tokens>(res);
  };
  const assert503 = (res: { statusCode: number; body: string; headers: Record<string, unknown> }) => {
    assert.equal(res.statusCode, 503, res.body);
    assert.equal(json(res as never).error, 'temporarily_unavailable');
    assert.ok(Number(res.headers['retry-after']) > 0);
  };

  before(async () => {
    // Region a keeps the username directory.
    set = await startRegions([
      { id: 'a', lat: 50.1, lon: 8.7 },
      { id: 'b', lat: 1.35, lon: 103.8 },
    ]);
    await syncKeys(set);
  });
  after(() => set.close());

  describe('usernames are unique across regions', () => {
    it('a name registered in one region is taken in every region, in any case', async () => {
      const res = await register(b().app, 'Traveller');
      assert.equal(res.statusCode, 201, res.body);
      assert.equal(json(res).home_region, 'b');
      for (const [t, name] of [
        [a, 'traveller'],
        [b, 'TRAVELLER'],
        [a, 'ｔｒａｖｅｌｌｅｒ'],
      ] as const) {
        const again = await register(t().app, name);
        assert.equal(again.statusCode, 409, name);
        assert.equal(json(again).error, 'username_taken');
      }
    });

    it('the directory folds keys from a region still on the previous rule (lower-casing only)', async () => {
      assert.equal((await register(b().app, 'Οδυσσευσ_1')).statusCode, 201);
      const ask = (path: string, body: Record<string, string>) => post(a().app, `/internal/v1/usernames/${path}`, body, bearer(set.secret));
      const found = await ask('find', { username_normalized: 'οδυσσευς_1' });
      assert.equal(json<{ holder: { home_region: string } }>(found).holder.home_region, 'b');
      const claimed = await ask('claim', { username_normalized: 'οδυσσευς_1', user_id: 'a_someone_else', home_region: 'a' });
      assert.equal(json<{ home_region: string }>(claimed).home_region, 'b');
    });

    it('concurrent registrations of one name in two regions: exactly one 201', async () => {
      for (const name of ['race-1', 'race-2', 'race-3']) {
        const results = await Promise.all([register(a().app, name), register(b().app, name), register(b().app, name.toUpperCase())]);
        const codes = results.map((r) => r.statusCode).sort();
        assert.deepEqual(codes, [201, 409, 409], `${name}: ${results.map((r) => r.body).join(' ')}`);
      }
    });

    it('a claim left by a failed registration is taken back by its own region, and by no other', async () => {
      // As if b claimed "orphaned" for a user and then lost the answer or crashed before writing the user.
      assert.equal(
        await b().services.regions!.directory.claim({ usernameNormalized: 'orphaned', userId: 'b_lost', homeRegion: 'b', now: b().clock.now() }),
        true,
      );
      assert.equal((await register(a().app, 'orphaned')).statusCode, 409);
      assert.equal((await register(b().app, 'orphaned')).statusCode, 201);
      assert.equal((await register(b().app, 'orphaned')).statusCode, 409);
    });

    it('directory unreachable: registration elsewhere is 503; logins and refreshes of local users go on', async () => {
      await register(b().app, 'homebody');
      const tokens = await loginAt(b, 'homebody');
      set.nodes.a!.proxy.cut();
      try {
        assert503(await register(b().app, 'while-cut'));
        assert.equal((await post(b().app, '/v1/auth/login', { username: 'homebody', password: PASSWORD })).statusCode, 200);
        assert.equal((await post(b().app, '/v1/auth/refresh', { refresh_token: tokens.refresh_token })).statusCode, 200);
        // A name b does not know might belong to a user of another region: not a guessed invalid_grant.
        assert503(await post(b().app, '/v1/auth/login', { username: 'nobody-knows', password: PASSWORD }));
      } finally {
        set.nodes.a!.proxy.heal();
      }
      assert.equal((await register(b().app, 'while-cut')).statusCode, 201);
    });
  });

  describe('keys', () => {
    const jwks = async (t: typeof a) =>
      new Set(json<{ keys: { kid: string }[] }>(await t().app.inject({ url: '/.well-known/jwks.json' })).keys.map((k) => k.kid));

    it("every region's JWKS lists every region's keys, and a token from one verifies in the other", async () => {
      await register(a().app, 'keyholder');
      const fromA = await loginAt(a, 'keyholder');
      const ownA = decodeJws(fromA.access_token).header.kid;
      assert.deepEqual(await jwks(a), await jwks(b));
      assert.ok((await jwks(b)).has(ownA));
      assert.equal((await jwks(b)).size, 2);
      const me = await b().app.inject({ url: '/v1/auth/me', headers: bearer(fromA.access_token) });
      assert.equal(me.statusCode, 200, me.body);
      assert.equal(json(me).region, 'a');
    });

    it("a region restarted while another is down still verifies that region's tokens", async () => {
      const fromA = await loginAt(a, 'keyholder');
      set.nodes.a!.proxy.cut();
      try {
        await set.nodes.b!.restart();
        await b().services.regions!.keySync.syncAll();
        assert.equal((await b().app.inject({ url: '/v1/auth/me', headers: bearer(fromA.access_token) })).statusCode, 200);
        assert.ok((await jwks(b)).has(decodeJws(fromA.access_token).header.kid));
      } finally {
        set.nodes.a!.proxy.heal();
      }
    });

    it('takes only sound public keys from another region, never for itself', async () => {
      const [good] = a().services.keys.ownKeys();
      assert.deepEqual(await b().services.keys.importForeign('c', [{ ...good!, kid: 'not-the-thumbprint' }]), ['not-the-thumbprint']);
      assert.deepEqual(await b().services.keys.importForeign('c', [{ ...good!, alg: 'RS256' }]), [good!.kid]);
      // A private part sent by mistake is dropped: never stored, never published.
      const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const kid = await calculateJwkThumbprint(pair.publicKey.export({ format: 'jwk' }) as JWK);
      const jwk = pair.privateKey.export({ format: 'jwk' }) as Record<string, unknown>;
      assert.deepEqual(await b().services.keys.importForeign('c', [{ kid, alg: 'ES256', jwk, activatesAt: b().clock.now(), retiredAt: null }]), []);
      const published = json<{ keys: Record<string, unknown>[] }>(await b().app.inject({ url: '/.well-known/jwks.json' })).keys;
      assert.ok(published.some((k) => k.kid === kid));
      assert.ok(published.every((k) => k.d === undefined));
      const { rows } = await b().db.query<{ private_jwk_enc: string | null; public_jwk: Record<string, unknown> }>(
        'SELECT private_jwk_enc, public_jwk FROM signing_keys WHERE kid = $1',
        [kid],
      );
      assert.equal(rows[0]!.private_jwk_enc, null);
      assert.equal(rows[0]!.public_jwk.d, undefined);
      await assert.rejects(b().services.keys.importForeign('b', [good!]), /refusing to import keys for this region/);
      // b still signs with its own key only.
      assert.notEqual(decodeJws((await loginAt(b, 'homebody')).access_token).header.kid, good!.kid);
    });

    it('internal routes need the region secret, and exist only with a topology', async () => {
      assert.equal((await b().app.inject({ url: '/internal/v1/keys' })).statusCode, 401);
      assert.equal((await b().app.inject({ url: '/internal/v1/keys', headers: bearer('wrong') })).statusCode, 401);
      assert.equal((await b().app.inject({ url: '/internal/v1/keys', headers: bearer(set.secret) })).statusCode, 200);
      // A region with the wrong secret gets no answer it could pass on to a client: 503, not 401.
      const stranger = new PeerClient({ topology: b().services.regions!.topology, self: 'a', secret: 'w'.repeat(32), timeoutMs: 1000 });
      const refused = await stranger.request('b', '/internal/v1/keys', { operation: 'keys', internal: true });
      assert.equal(refused.status, 401);
      assert.ok(isAppError(stranger.answerError('b', refused), 'temporarily_unavailable'));
      // Only the directory region answers for usernames.
      const find = (t: typeof a) => post(t().app, '/internal/v1/usernames/find', { username_normalized: 'traveller' }, bearer(set.secret));
      assert.equal(json<{ holder: { home_region: string } }>(await find(a)).holder.home_region, 'b');
      assert.equal((await find(b)).statusCode, 404);
      const single = await createTestApp();
      try {
        assert.equal((await single.app.inject({ url: '/internal/v1/keys', headers: bearer('x'.repeat(32)) })).statusCode, 404);
      } finally {
        await single.close();
      }
    });
  });

  describe('refresh and login anywhere', () => {
    it("a refresh of another region's token is proxied to its origin, which rotates it", async () => {
      await register(a().app, 'commuter');
      const fromA = await loginAt(a, 'commuter');
      const res = await post(b().app, '/v1/auth/refresh', { refresh_token: fromA.refresh_token });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.headers['x-meridian-region'], 'a');
      assert.equal(res.headers.via, '1.1 b');
      assert.equal(res.headers['cache-control'], 'no-store');
      const next = json<Tokens>(res);
      assert.match(next.refresh_token, /^a_/);
      assert.equal(claimsOf(next.access_token).region, 'a');
      // The origin rotated it: the child refreshes there.
      const child = await post(a().app, '/v1/auth/refresh', { refresh_token: next.refresh_token });
      assert.equal(child.statusCode, 200);
      // The OAuth token endpoint runs the same service: its grants are sent on the same way.
      const oauth = await b().app.inject({
        method: 'POST',
        url: '/oauth/token',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: json<Tokens>(child).refresh_token }).toString(),
      });
      assert.equal(oauth.statusCode, 200, oauth.body);
      assert.equal(oauth.headers['x-meridian-region'], 'a');
    });

    it('origin unreachable: 503 with Retry-After, never invalid_grant; a token of an unknown region is invalid_grant', async () => {
      const fromA = await loginAt(a, 'commuter');
      set.nodes.a!.proxy.cut();
      try {
        const res = await post(b().app, '/v1/auth/refresh', { refresh_token: fromA.refresh_token });
        assert503(res);
        assert.equal(res.headers['x-meridian-region'], 'b');
      } finally {
        set.nodes.a!.proxy.heal();
      }
      assert.equal((await post(b().app, '/v1/auth/refresh', { refresh_token: fromA.refresh_token })).statusCode, 200, 'not consumed by the failed attempt');
      const stranger = await post(b().app, '/v1/auth/refresh', { refresh_token: `zz.${'A'.repeat(43)}` });
      assert.equal(stranger.statusCode, 400);
      assert.equal(json(stranger).error, 'invalid_grant');
    });

    it('origin refuses: its invalid_grant comes back as is', async () => {
      const fromA = await loginAt(a, 'commuter');
      await post(a().app, '/v1/auth/logout', undefined, bearer(fromA.access_token));
      const res = await post(b().app, '/v1/auth/refresh', { refresh_token: fromA.refresh_token });
      assert.equal(res.statusCode, 400);
      assert.equal(json(res).error, 'invalid_grant');
      assert.equal(res.headers['x-meridian-region'], 'a');
    });

    it("a login in another region is proxied to the user's home region, with the client's address", async () => {
      const res = await b().app.inject({
        method: 'POST',
        url: '/v1/auth/login',
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify({ username: 'Commuter', password: PASSWORD }),
        remoteAddress: '203.0.113.7',
      });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.headers['x-meridian-region'], 'a');
      const tokens = json<Tokens>(res);
      assert.equal(claimsOf(tokens.access_token).region, 'a');
      assert.match(tokens.refresh_token, /^a_/);
      assert.equal((await b().app.inject({ url: '/v1/auth/me', headers: bearer(tokens.access_token) })).statusCode, 200);
      const audit = a()
        .logs.map((l) => JSON.parse(l))
        .filter((l) => l.event === 'login.succeeded');
      assert.equal(audit.at(-1).client_ip, '203.0.113.7');
    });

    it('a logout in another region ends the session at its origin, and there the refresh token dies', async () => {
      const first = await loginAt(a, 'commuter');
      const second = await loginAt(a, 'commuter');
      const me = (t: typeof a, token: string) => t().app.inject({ url: '/v1/auth/me', headers: bearer(token) });
      const res = await post(b().app, '/v1/auth/logout', undefined, bearer(first.access_token));
      assert.equal(res.statusCode, 204, res.body);
      assert.equal(res.headers['x-meridian-region'], 'a');
      for (const t of [a, b]) {
        assert.equal((await post(t().app, '/v1/auth/refresh', { refresh_token: first.refresh_token })).statusCode, 400);
        assert.equal((await me(t, first.access_token)).statusCode, 401);
      }
      assert.equal((await me(b, second.access_token)).statusCode, 200, 'only that session');
      // Every session, from another region: each one's access token is refused here at once.
      assert.equal((await post(b().app, '/v1/auth/logout', { all_sessions: true }, bearer(second.access_token))).statusCode, 204);
      assert.equal((await me(b, second.access_token)).statusCode, 401);
      assert.equal((await post(a().app, '/v1/auth/refresh', { refresh_token: second.refresh_token })).statusCode, 400);

      const third = await loginAt(a, 'commuter');
      set.nodes.a!.proxy.cut();
      try {
        // Not done, so nothing changed: the access token still works for a retry.
        assert503(await post(b().app, '/v1/auth/logout', undefined, bearer(third.access_token)));
        assert.equal((await me(b, third.access_token)).statusCode, 200);
      } finally {
        set.nodes.a!.proxy.heal();
      }
      assert.equal((await post(b().app, '/v1/auth/logout', undefined, bearer(third.access_token))).statusCode, 204, 'a retry succeeds');
      assert.equal((await me(b, third.access_token)).statusCode, 401);
      assert.equal((await post(a().app, '/v1/auth/refresh', { refresh_token: third.refresh_token })).statusCode, 400);
    });

    it('wrong password and unknown user give the same invalid_grant through the proxy; home down gives 503', async () => {
      const wrong = await post(b().app, '/v1/auth/login', { username: 'commuter', password: `${PASSWORD}!` });
      const unknown = await post(b().app, '/v1/auth/login', { username: 'nobody-anywhere', password: PASSWORD });
      for (const res of [wrong, unknown]) {
        assert.equal(res.statusCode, 400, res.body);
        assert.deepEqual(json(res), json(wrong));
      }
      set.nodes.a!.proxy.cut();
      try {
        assert503(await post(b().app, '/v1/auth/login', { username: 'commuter', password: PASSWORD }));
      } finally {
        set.nodes.a!.proxy.heal();
      }
    });
  });
});
