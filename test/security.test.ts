import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertAbsent, BACKENDS, bearer, createTestApp, json, login, PASSWORD, post, register, type TestApp, type Tokens } from './helpers.js';

for (const backend of BACKENDS) {
  describe(`secrets at rest and in logs (${backend})`, () => {
    let t: TestApp;
    before(async () => {
      t = await createTestApp({ backend });
    });
    after(() => t.close());

    it('stores passwords as argon2id with at least m=19456, t=2, p=1', async () => {
      await register(t.app, 'hashed');
      const { rows } = await t.db.query<{ password_hash: string }>("SELECT password_hash FROM users WHERE username_normalized = 'hashed'");
      const m = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$/.exec(rows[0]!.password_hash);
      assert.ok(m, rows[0]!.password_hash.slice(0, 30));
      assert.ok(Number(m[1]) >= 19456 && Number(m[2]) >= 2 && Number(m[3]) >= 1);
    });

    it('refresh tokens, access tokens and passwords appear nowhere in the database or the logs', async () => {
      const issued: string[] = [];
      let tokens = await login(t.app, 'secretive', PASSWORD);
      issued.push(tokens.refresh_token, tokens.access_token);
      for (let i = 0; i < 3; i++) {
        tokens = json<Tokens>(await post(t.app, '/v1/auth/refresh', { refresh_token: tokens.refresh_token }));
        issued.push(tokens.refresh_token, tokens.access_token);
      }
      await post(t.app, '/v1/auth/login', { username: 'secretive', password: 'a wrong password, logged?' });
      await post(t.app, '/v1/auth/logout', { refresh_token: tokens.refresh_token }, bearer(tokens.access_token));
      const tables = ['users', 'sessions', 'refresh_tokens', 'signing_keys'];
      let dump = '';
      for (const table of tables) dump += JSON.stringify((await t.db.query(`SELECT * FROM ${table}`)).rows);
      const secrets = [...issued.map((x) => (x.includes('.') && x.split('.').length === 2 ? x.split('.')[1]! : x)), PASSWORD, 'a wrong password, logged?'];
      assertAbsent(dump, secrets);
      const logs = t.logs.join('');
      assert.ok(logs.includes('login.succeeded'), 'audit events are logged');
      assertAbsent(logs, [...secrets, ...issued]);
      // Private signing keys are encrypted at rest.
      assert.ok(!/"d"\s*:/.test(JSON.stringify((await t.db.query('SELECT private_jwk_enc FROM signing_keys')).rows)));
    });
  });
}

describe('brute-force protection', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({
      backend: 'pglite',
      env: { MERIDIAN_LOGIN_MAX_FAILURES: '5', MERIDIAN_LOGIN_MAX_FAILURES_PER_IP: '12', MERIDIAN_LOGIN_LOCKOUT: '900' },
    });
  });
  after(() => t.close());

  const attempt = (username: string, password: string, ip = '10.0.0.1') =>
    t.app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      remoteAddress: ip,
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ username, password }),
    });

  it('locks an account after repeated failures, even against the right password, and lifts by itself', async () => {
    await register(t.app, 'target');
    for (let i = 0; i < 5; i++) assert.equal((await attempt('target', `guess number ${i}`, `10.1.0.${i}`)).statusCode, 400);
    const locked = await attempt('target', PASSWORD, '10.1.0.99');
    assert.equal(locked.statusCode, 429);
    assert.equal(json(locked).error, 'rate_limited');
    const retryAfter = Number(locked.headers['retry-after']);
    assert.ok(retryAfter > 0 && retryAfter <= 900, String(retryAfter));
    t.clock.advance(900_000);
    assert.equal((await attempt('target', PASSWORD, '10.1.0.99')).statusCode, 200);
  });

  it('locks unknown usernames the same way, revealing nothing', async () => {
    for (let i = 0; i < 5; i++) await attempt('ghost-user', `guess number ${i}`, `10.2.0.${i}`);
    const res = await attempt('ghost-user', PASSWORD, '10.2.0.99');
    assert.equal(res.statusCode, 429);
  });

  it('throttles a client IP spraying many accounts', async () => {
    for (let i = 0; i < 12; i++) await attempt(`spray-${i}`, 'some password guess', '10.3.0.1');
    await register(t.app, 'sprayed');
    assert.equal((await attempt('sprayed', PASSWORD, '10.3.0.1')).statusCode, 429);
    assert.equal((await attempt('sprayed', PASSWORD, '10.3.0.2')).statusCode, 200);
  });

  it('a success resets the account count', async () => {
    await register(t.app, 'forgetful');
    for (let i = 0; i < 4; i++) await attempt('forgetful', 'nope nope nope', `10.4.0.${i}`);
    assert.equal((await attempt('forgetful', PASSWORD, '10.4.1.1')).statusCode, 200);
    for (let i = 0; i < 4; i++) await attempt('forgetful', 'nope nope nope', `10.4.2.${i}`);
    assert.equal((await attempt('forgetful', PASSWORD, '10.4.3.1')).statusCode, 200);
  });
});

describe('registration', () => {
  it('20 parallel registrations of Alice and alice give exactly one 201', async () => {
    const t = await createTestApp({ backend: 'postgres' });
    try {
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => register(t.app, i % 2 ? 'Alice' : 'alice')));
      const codes = results.map((r) => r.statusCode).sort();
      assert.equal(codes.filter((c) => c === 201).length, 1, codes.join());
      assert.equal(codes.filter((c) => c === 409).length, 19, codes.join());
      const { rows } = await t.db.query<{ n: number }>("SELECT count(*)::int AS n FROM users WHERE username_normalized = 'alice'");
      assert.equal(rows[0]!.n, 1);
    } finally {
      await t.close();
    }
  });

  it('is throttled per client IP with 429 and Retry-After', async () => {
    const t = await createTestApp({ backend: 'pglite', env: { MERIDIAN_REGISTER_MAX_PER_IP: '3' } });
    try {
      const codes = [];
      for (let i = 0; i < 4; i++) codes.push((await register(t.app, `throttled-${i}`)).statusCode);
      assert.deepEqual(codes, [201, 201, 201, 429]);
      const res = await register(t.app, 'throttled-x');
      assert.ok(Number(res.headers['retry-after']) > 0);
    } finally {
      await t.close();
    }
  });
});

describe('client address behind the gateway', () => {
  it('takes the address the proxy appended, not one the client wrote: spoofed X-Forwarded-For shares one bucket', async () => {
    const t = await createTestApp({ backend: 'pglite', env: { MERIDIAN_TRUST_PROXY: 'true', MERIDIAN_LOGIN_MAX_FAILURES_PER_IP: '3' } });
    try {
      const codes: number[] = [];
      for (let i = 0; i < 5; i++) {
        // What the gateway forwards: the client's own header, then the address it saw.
        const res = await post(
          t.app,
          '/v1/auth/login',
          { username: `spoofer-${i}`, password: 'wrong password guess' },
          { 'x-forwarded-for': `10.9.${i}.1, 192.0.2.7` },
        );
        codes.push(res.statusCode);
      }
      assert.deepEqual(codes, [400, 400, 400, 429, 429]);
      const ips = new Set(t.logs.map((l) => JSON.parse(l).client_ip).filter(Boolean));
      assert.deepEqual([...ips], ['192.0.2.7']);
    } finally {
      await t.close();
    }
  });
});

describe('request targets the router cannot decode', () => {
  it('get the API error shape, and the path is not echoed back', async () => {
    const t = await createTestApp({ backend: 'pglite' });
    try {
      for (const url of ['/%ff', '/v1/auth/me%ff', '/%2', '/v1/auth/sessions/%', '/%C0%AEinternal']) {
        const res = await t.app.inject({ method: 'GET', url });
        assert.ok(res.statusCode === 400 || res.statusCode === 404, `${url}: ${res.statusCode}`);
        const body = JSON.parse(res.body) as Record<string, unknown>;
        assert.deepEqual(Object.keys(body).sort(), ['error', 'error_description'], `${url}: ${res.body}`);
        assert.ok(!res.body.includes(url), `${url} is echoed back`);
      }
    } finally {
      await t.close();
    }
  });
});
