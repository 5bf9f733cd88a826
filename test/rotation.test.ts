import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { cachedDecisionStands, type RefreshDecision } from '../src/auth/refresh-policy.js';
import { BACKENDS, bearer, claimsOf, createTestApp, json, login, post, type TestApp, type Tokens } from './helpers.js';

for (const backend of BACKENDS) {
  describe(`refresh rotation (${backend})`, () => {
    let t: TestApp;
    before(async () => {
      t = await createTestApp({ backend });
    });
    after(() => t.close());

    const refresh = (token: string) => post(t.app, '/v1/auth/refresh', { refresh_token: token });
    /** Rows a session has besides its own: none, since refresh tokens are not stored. */
    const tokenRows = async (sid: string) =>
      (await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM refresh_tokens WHERE session_id = $1', [sid])).rows[0]!.n;
    const sessionOf = async (sid: string) =>
      (await t.db.query<{ revoked_reason: string | null; generation: number }>('SELECT revoked_reason, generation FROM sessions WHERE id = $1', [sid]))
        .rows[0]!;

    it('50 parallel refreshes of one token: one child, and every caller gets that same child', async () => {
      const first = await login(t.app, 'parallel');
      const sid = claimsOf(first.access_token).sid;
      const results = await Promise.all(Array.from({ length: 50 }, () => refresh(first.refresh_token)));
      for (const r of results) assert.equal(r.statusCode, 200, r.body);
      const children = new Set(results.map((r) => json<Tokens>(r).refresh_token));
      assert.equal(children.size, 1);
      // One rotation happened: the session moved one generation, and nothing was written per token.
      assert.equal((await sessionOf(sid)).generation, 1);
      assert.equal(await tokenRows(sid), 0);
      // The shared child works, exactly once more.
      const [child] = children;
      assert.equal((await refresh(child!)).statusCode, 200);
      assert.equal((await sessionOf(sid)).revoked_reason, null);
    });

    it('a retry inside the grace window returns the same child with a fresh access token', async () => {
      const first = await login(t.app, 'retrier');
      const a = json<Tokens>(await refresh(first.refresh_token));
      t.clock.advance(5_000);
      const b = json<Tokens>(await refresh(first.refresh_token));
      assert.equal(b.refresh_token, a.refresh_token);
      assert.notEqual(b.access_token, a.access_token);
      assert.ok(b.refresh_expires_in <= a.refresh_expires_in);
    });

    it('reuse outside the grace window is invalid_grant and revokes the family, child included', async () => {
      const first = await login(t.app, 'reuser');
      const sid = claimsOf(first.access_token).sid;
      const child = json<Tokens>(await refresh(first.refresh_token));
      t.clock.advance(11_000);
      const replay = await refresh(first.refresh_token);
      assert.equal(replay.statusCode, 400);
      assert.equal(json(replay).error, 'invalid_grant');
      assert.equal((await sessionOf(sid)).revoked_reason, 'reuse');
      assert.equal(json(await refresh(child.refresh_token)).error, 'invalid_grant');
      // Access tokens of the family die too.
      assert.equal((await t.app.inject({ url: '/v1/auth/me', headers: bearer(child.access_token) })).statusCode, 401);
      assert.equal((await t.app.inject({ url: '/v1/auth/me', headers: bearer(first.access_token) })).statusCode, 401);
    });

    it('a retry of a grandparent, even inside the window, is reuse: it would start a new branch', async () => {
      const first = await login(t.app, 'brancher');
      const sid = claimsOf(first.access_token).sid;
      const child = json<Tokens>(await refresh(first.refresh_token));
      assert.equal((await refresh(child.refresh_token)).statusCode, 200);
      const replay = await refresh(first.refresh_token);
      assert.equal(json(replay).error, 'invalid_grant');
      assert.equal((await sessionOf(sid)).revoked_reason, 'reuse');
    });

    it('rotation never extends the absolute lifetime', async () => {
      const short = await createTestApp({ backend, clock: t.clock, env: { MERIDIAN_REFRESH_TOKEN_TTL: '3600', MERIDIAN_REFRESH_IDLE_TTL: '1800' } });
      try {
        let tokens = await login(short.app, 'mortal');
        assert.equal(tokens.refresh_expires_in, 1800);
        for (let i = 0; i < 3; i++) {
          t.clock.advance(1000_000);
          const r = await post(short.app, '/v1/auth/refresh', { refresh_token: tokens.refresh_token });
          assert.equal(r.statusCode, 200, `step ${i}`);
          tokens = json<Tokens>(r);
          assert.ok(tokens.refresh_expires_in <= 3600 - (i + 1) * 1000, `expires_in ${tokens.refresh_expires_in}`);
        }
        t.clock.advance(1000_000); // 4000 s after login: past the absolute lifetime
        const late = await post(short.app, '/v1/auth/refresh', { refresh_token: tokens.refresh_token });
        assert.equal(json(late).error, 'invalid_grant');
      } finally {
        await short.close();
      }
    });

    it('an idle session ends: a token unused past the idle TTL fails', async () => {
      const idle = await createTestApp({ backend, clock: t.clock, env: { MERIDIAN_REFRESH_IDLE_TTL: '600' } });
      try {
        const tokens = await login(idle.app, 'sleeper');
        t.clock.advance(601_000);
        const r = await post(idle.app, '/v1/auth/refresh', { refresh_token: tokens.refresh_token });
        assert.equal(r.statusCode, 400);
        assert.equal(json(r).error, 'invalid_grant');
      } finally {
        await idle.close();
      }
    });

    it('a refresh racing a logout leaves no usable token', async () => {
      for (let round = 0; round < 5; round++) {
        const tokens = await login(t.app, `racer${round}`);
        const sid = claimsOf(tokens.access_token).sid;
        const [r, out] = await Promise.all([refresh(tokens.refresh_token), post(t.app, '/v1/auth/logout', undefined, bearer(tokens.access_token))]);
        assert.equal(out.statusCode, 204);
        assert.ok(r.statusCode === 200 || r.statusCode === 400, r.body);
        assert.notEqual((await sessionOf(sid)).revoked_reason, null);
        if (r.statusCode === 200) {
          const won = json<Tokens>(r);
          assert.equal((await refresh(won.refresh_token)).statusCode, 400);
          assert.equal((await t.app.inject({ url: '/v1/auth/me', headers: bearer(won.access_token) })).statusCode, 401);
        }
        assert.equal((await refresh(tokens.refresh_token)).statusCode, 400);
      }
    });

    it('many parallel refreshes across the grace boundary never yield a 5xx nor two live tokens', async () => {
      const first = await login(t.app, 'stormy');
      const sid = claimsOf(first.access_token).sid;
      const child = json<Tokens>(await refresh(first.refresh_token));
      t.clock.advance(11_000);
      const results = await Promise.all([
        ...Array.from({ length: 10 }, () => refresh(first.refresh_token)),
        ...Array.from({ length: 10 }, () => refresh(child.refresh_token)),
      ]);
      for (const r of results) assert.ok(r.statusCode < 500, r.body);
      assert.equal((await sessionOf(sid)).revoked_reason, 'reuse');
      for (const r of results.filter((x) => x.statusCode === 200)) {
        assert.equal((await refresh(json<Tokens>(r).refresh_token)).statusCode, 400);
      }
    });
  });
}

describe('what a cached decision may settle', () => {
  it('only decisions that cannot be wrong from a stale copy stand without the source of truth', () => {
    const stands = (d: RefreshDecision) => cachedDecisionStands(d);
    assert.equal(stands({ kind: 'rotate', next: 1, ahead: false }), true, 'a rotation is re-checked by the statement that makes it');
    assert.equal(stands({ kind: 'rotate', next: 5, ahead: false }), true);
    assert.equal(stands({ kind: 'rotate', next: 5, ahead: true }), false, 'a token ahead of the copy says the copy is stale');
    for (const reason of ['revoked', 'expired'] as const) assert.equal(stands({ kind: 'reject', reason }), true, reason);
    assert.equal(stands({ kind: 'reject', reason: 'unknown' }), false, 'unknown may be a session the cache never heard of');
    assert.equal(stands({ kind: 'reject', reason: 'idle_expired' }), false, 'a rotation the cache missed restarts the idle clock');
    assert.equal(stands({ kind: 'reject', reason: 'disabled' }), false, 'an account can be enabled again; the cached flag has no version');
    assert.equal(stands({ kind: 'grace', generation: 1 }), false);
    assert.equal(stands({ kind: 'reuse' }), false, 'reuse revokes a family: never on a stale copy');
  });
});
