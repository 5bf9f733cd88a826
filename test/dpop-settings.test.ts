import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestApp, json, PASSWORD, post, REDIS_URL, register, type TestApp, type Tokens } from './helpers.js';
import { testPrefix } from './redis-server.js';
import { DpopKey } from './dpop-keys.js';

const me = (t: TestApp, access: string, proof: string) =>
  t.app.inject({ method: 'GET', url: '/v1/auth/me', headers: { authorization: `DPoP ${access}`, dpop: proof } });

describe('DPoP required for every session', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ env: { MERIDIAN_DPOP_REQUIRED: 'true' } });
  });
  after(() => t.close());

  it('a login or refresh without a proof is refused; with one the session is bound', async () => {
    await register(t.app, 'must-prove');
    const bare = await post(t.app, '/v1/auth/login', { username: 'must-prove', password: PASSWORD });
    assert.equal(bare.statusCode, 400);
    assert.equal(json(bare).error, 'invalid_dpop_proof');
    const key = new DpopKey(t.clock);
    const res = await post(t.app, '/v1/auth/login', { username: 'must-prove', password: PASSWORD }, { dpop: key.proof('POST', '/v1/auth/login') });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(json<Tokens>(res).token_type, 'DPoP');
    const noProof = await post(t.app, '/v1/auth/refresh', { refresh_token: json<Tokens>(res).refresh_token });
    assert.equal(json(noProof).error, 'invalid_dpop_proof');
  });
});

describe('DPoP server nonces', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ env: { MERIDIAN_DPOP_NONCE: 'true', MERIDIAN_DPOP_PROOF_WINDOW: '60', MERIDIAN_CORS_ORIGINS: 'https://app.test' } });
  });
  after(() => t.close());

  it('a proof without the nonce gets use_dpop_nonce and the nonce; the retry with it succeeds', async () => {
    await register(t.app, 'noncer');
    const key = new DpopKey(t.clock);
    const body = { username: 'noncer', password: PASSWORD };
    const first = await post(t.app, '/v1/auth/login', body, { dpop: key.proof('POST', '/v1/auth/login') });
    assert.equal(first.statusCode, 400);
    assert.equal(json(first).error, 'use_dpop_nonce');
    const nonce = String(first.headers['dpop-nonce']);
    assert.ok(nonce.length > 10);
    const retry = await post(t.app, '/v1/auth/login', body, { dpop: key.proof('POST', '/v1/auth/login', { claims: { nonce } }) });
    assert.equal(retry.statusCode, 200, retry.body);
    assert.ok(retry.headers['dpop-nonce']);
    const access = json<Tokens>(retry).access_token;

    const resource = await me(t, access, key.proof('GET', '/v1/auth/me', { accessToken: access }));
    assert.equal(resource.statusCode, 401);
    assert.equal(json(resource).error, 'use_dpop_nonce');
    assert.match(String(resource.headers['www-authenticate']), /^DPoP error="use_dpop_nonce"/);
    assert.ok(resource.headers['dpop-nonce']);
    const withNonce = await me(t, access, key.proof('GET', '/v1/auth/me', { accessToken: access, claims: { nonce } }));
    assert.equal(withNonce.statusCode, 200, withNonce.body);

    // A nonce lasts its period and the next; later it is stale and a new one is handed out.
    t.clock.advance(150_000);
    const stale = await me(t, access, key.proof('GET', '/v1/auth/me', { accessToken: access, claims: { nonce } }));
    assert.equal(json(stale).error, 'use_dpop_nonce');
    assert.notEqual(stale.headers['dpop-nonce'], nonce);
  });

  it('a browser page on an allowed origin may send proofs and read the nonce (CORS)', async () => {
    const origin = 'https://app.test';
    const preflight = await t.app.inject({
      method: 'OPTIONS',
      url: '/v1/auth/refresh',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,dpop' },
    });
    assert.match(String(preflight.headers['access-control-allow-headers']), /dpop/);
    const res = await post(t.app, '/v1/auth/refresh', { refresh_token: 'x' }, { origin });
    assert.match(String(res.headers['access-control-expose-headers']), /dpop-nonce/);
  });
});

describe('DPoP replay across the servers of a region (Redis)', () => {
  let a: TestApp;
  let b: TestApp;
  before(async () => {
    const prefix = testPrefix('dpop-replay');
    a = await createTestApp({ env: { REDIS_URL, MERIDIAN_REDIS_PREFIX: prefix } });
    b = await createTestApp({ databaseUrl: a.config.databaseUrl, clock: a.clock, env: { REDIS_URL, MERIDIAN_REDIS_PREFIX: prefix } });
  });
  after(async () => {
    await b.close();
    await a.close();
  });

  it('a proof taken by one server is refused by the other', async () => {
    await register(a.app, 'replayer');
    const key = new DpopKey(a.clock);
    const res = await post(a.app, '/v1/auth/login', { username: 'replayer', password: PASSWORD }, { dpop: key.proof('POST', '/v1/auth/login') });
    const access = json<Tokens>(res).access_token;
    const proof = key.proof('GET', '/v1/auth/me', { accessToken: access });
    assert.equal((await me(a, access, proof)).statusCode, 200);
    const replay = await me(b, access, proof);
    assert.equal(replay.statusCode, 400);
    assert.equal(json(replay).error, 'invalid_dpop_proof');
    assert.equal((await me(b, access, key.proof('GET', '/v1/auth/me', { accessToken: access }))).statusCode, 200);
  });
});

describe('DPoP with a stale cache', () => {
  let a: TestApp;
  let b: TestApp;
  before(async () => {
    // Two servers on one database, each with its own in-process cache: what one writes, the other's cache does not see.
    a = await createTestApp();
    b = await createTestApp({ databaseUrl: a.config.databaseUrl, clock: a.clock });
  });
  after(async () => {
    await b.close();
    await a.close();
  });

  it('a session bound by another server is refused without the key where the cache still holds it unbound, and is not revoked', async () => {
    await register(a.app, 'stale-cache');
    const login = json<Tokens>(await post(a.app, '/v1/auth/login', { username: 'stale-cache', password: PASSWORD }));
    const child = json<Tokens>(await post(a.app, '/v1/auth/refresh', { refresh_token: login.refresh_token })).refresh_token;
    const key = new DpopKey(a.clock);
    const bound = await post(b.app, '/v1/auth/refresh', { refresh_token: child }, { dpop: key.proof('POST', '/v1/auth/refresh') });
    assert.equal(json<Tokens>(bound).token_type, 'DPoP');
    a.clock.advance(60_000);
    // a's cache still says `child` is live and unbound; the database says it was rotated by a bound session.
    const replay = await post(a.app, '/v1/auth/refresh', { refresh_token: child });
    assert.equal(replay.statusCode, 400, replay.body);
    assert.equal(json(replay).error, 'invalid_dpop_proof');
    const { rows } = await a.db.query<{ revoked_at: Date | null }>('SELECT revoked_at FROM sessions WHERE dpop_jkt = $1', [key.jkt]);
    assert.equal(rows[0]?.revoked_at, null);
  });
});
