/**
 * Brute-force limits under concurrency: logins in flight at once, on one
 * server or on several sharing Redis, get at most the configured number of
 * password checks per account and per client address; the rest are refused
 * with 429 before any password is checked. Checks are counted on a real
 * argon2 hasher.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { PasswordHasher } from '../src/auth/passwords.js';
import { BACKENDS, createTestApp, eventually, json, PASSWORD, REDIS_URL, register, type TestApp } from './helpers.js';
import { startRedisServer, testPrefix, type RedisServer } from './redis-server.js';

/** The real hasher, counting the passwords it checks (a dummy verification for an unknown user included). */
class CountingHasher extends PasswordHasher {
  checks = 0;

  override async verify(passwordHash: string, password: string): Promise<boolean> {
    this.checks += 1;
    return super.verify(passwordHash, password);
  }
}

const LIMITS = { MERIDIAN_LOGIN_MAX_FAILURES: '10', MERIDIAN_LOGIN_MAX_FAILURES_PER_IP: '40', MERIDIAN_LOGIN_LOCKOUT: '900' };

const attempt = (app: FastifyInstance, username: string, password: string, ip: string) =>
  app.inject({
    method: 'POST',
    url: '/v1/auth/login',
    remoteAddress: ip,
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify({ username, password }),
  });

const tally = (codes: number[]) => {
  const n: Record<number, number> = {};
  for (const c of codes) n[c] = (n[c] ?? 0) + 1;
  return n;
};

/** The `login.failed` audit lines by reason. */
const failures = (t: TestApp, reason: string) => t.logs.filter((l) => l.includes('"msg":"login.failed"') && l.includes(`"reason":"${reason}"`)).length;

/** 100 logins at `username` at once, spread over `apps` and 100 addresses: 99 wrong passwords, then the right one. */
async function guessInParallel(apps: FastifyInstance[], username: string) {
  const results = await Promise.all(
    Array.from({ length: 100 }, (_, i) => attempt(apps[i % apps.length]!, username, i === 99 ? PASSWORD : `wrong guess number ${i}`, `10.50.${i}.1`)),
  );
  return results;
}

/** 150 wrong logins at distinct accounts at once from one address, spread over `apps`. */
async function sprayInParallel(apps: FastifyInstance[], prefix: string, ip: string) {
  return Promise.all(Array.from({ length: 150 }, (_, i) => attempt(apps[i % apps.length]!, `${prefix}-${i}`, 'a wrong password guess', ip)));
}

for (const backend of BACKENDS) {
  describe(`parallel login attempts on one server (${backend})`, () => {
    const hasher = new CountingHasher();
    let t: TestApp;
    before(async () => {
      t = await createTestApp({ backend, env: LIMITS, services: { hasher } });
    });
    after(() => t.close());

    it('100 at one account: exactly the account limit are checked, and the right password last gets 429', async () => {
      await register(t.app, 'besieged');
      hasher.checks = 0;
      const results = await guessInParallel([t.app], 'besieged');
      assert.equal(hasher.checks, 10);
      assert.deepEqual(tally(results.map((r) => r.statusCode)), { 400: 10, 429: 90 });
      const last = results[99]!;
      assert.equal(last.statusCode, 429);
      assert.equal(json(last).error, 'rate_limited');
      assert.ok(Number(last.headers['retry-after']) > 0 && Number(last.headers['retry-after']) <= 900);
      assert.equal(failures(t, 'locked'), 90);
      assert.equal(failures(t, 'bad_credentials'), 10);
    });

    it('150 from one address: at most the address limit are checked', async () => {
      hasher.checks = 0;
      const results = await sprayInParallel([t.app], 'sprayed', '10.60.0.1');
      assert.ok(hasher.checks <= 40, String(hasher.checks));
      assert.deepEqual(tally(results.map((r) => r.statusCode)), { 400: 40, 429: 110 });
      assert.equal(failures(t, 'rate_limited'), 110);
    });

    it('a success costs the address nothing: the address keeps its full budget of failures', async () => {
      for (let i = 0; i < 5; i++) await register(t.app, `regular-${i}`);
      const ok = await Promise.all(Array.from({ length: 5 }, (_, i) => attempt(t.app, `regular-${i}`, PASSWORD, '10.61.0.1')));
      assert.deepEqual(
        ok.map((r) => r.statusCode),
        [200, 200, 200, 200, 200],
      );
      const results = await sprayInParallel([t.app], 'after-success', '10.61.0.1');
      assert.deepEqual(tally(results.map((r) => r.statusCode)), { 400: 40, 429: 110 });
    });
  });
}

describe('parallel login attempts on two servers sharing Redis', () => {
  const hasher = new CountingHasher();
  let a: TestApp;
  let b: TestApp;
  before(async () => {
    const env = { ...LIMITS, REDIS_URL, MERIDIAN_REDIS_PREFIX: testPrefix('throttle-concurrency') };
    a = await createTestApp({ env, services: { hasher } });
    b = await createTestApp({ databaseUrl: a.config.databaseUrl, clock: a.clock, env, services: { hasher } });
  });
  after(async () => {
    await b.close();
    await a.close();
  });

  it('100 at one account: the account limit holds in total, and the right password last gets 429', async () => {
    await register(a.app, 'besieged');
    hasher.checks = 0;
    const results = await guessInParallel([a.app, b.app], 'besieged');
    assert.equal(hasher.checks, 10);
    assert.deepEqual(tally(results.map((r) => r.statusCode)), { 400: 10, 429: 90 });
    assert.equal(results[99]!.statusCode, 429);
  });

  it('150 from one address: the address limit holds in total', async () => {
    hasher.checks = 0;
    const results = await sprayInParallel([a.app, b.app], 'sprayed', '10.70.0.1');
    assert.ok(hasher.checks <= 40, String(hasher.checks));
    assert.deepEqual(tally(results.map((r) => r.statusCode)), { 400: 40, 429: 110 });
  });
});

describe('Redis failing in the middle of a window', () => {
  const hasher = new CountingHasher();
  let server: RedisServer;
  let t: TestApp;
  before(async () => {
    server = await startRedisServer();
    t = await createTestApp({ env: { ...LIMITS, REDIS_URL: server.url, MERIDIAN_REDIS_PREFIX: testPrefix('throttle-outage') }, services: { hasher } });
  });
  after(async () => {
    await t.close();
    await server.close();
  });

  it('checks counted in Redis still count in the process while Redis is down and after it comes back empty', async () => {
    await register(t.app, 'outlasting');
    hasher.checks = 0;
    for (let i = 0; i < 6; i++) assert.equal((await attempt(t.app, 'outlasting', `wrong guess ${i}`, `10.80.${i}.1`)).statusCode, 400);
    await server.stop();
    const during = await Promise.all(Array.from({ length: 20 }, (_, i) => attempt(t.app, 'outlasting', `wrong guess ${i}`, `10.81.${i}.1`)));
    assert.deepEqual(tally(during.map((r) => r.statusCode)), { 400: 4, 429: 16 });
    await server.start();
    await eventually(async () => json<{ checks: Record<string, string> }>(await t.app.inject({ url: '/readyz' })).checks.cache === 'ok', 10_000, 'cache ok');
    const back = await Promise.all(
      Array.from({ length: 20 }, (_, i) => attempt(t.app, 'outlasting', i === 19 ? PASSWORD : `wrong guess ${i}`, `10.82.${i}.1`)),
    );
    assert.deepEqual(tally(back.map((r) => r.statusCode)), { 429: 20 });
    assert.equal(hasher.checks, 10);
  });
});

describe('client address buckets', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ backend: 'pglite', env: { MERIDIAN_LOGIN_MAX_FAILURES_PER_IP: '5', MERIDIAN_REGISTER_MAX_PER_IP: '2' } });
  });
  after(() => t.close());

  it('IPv6 clients are counted by their /64: picking new addresses in it buys no more guesses', async () => {
    const codes: number[] = [];
    for (let i = 1; i <= 6; i++)
      codes.push((await attempt(t.app, `v6-spray-${i}`, 'a wrong password guess', `2001:db8:7:8:${i.toString(16)}::${i}`)).statusCode);
    assert.deepEqual(codes, [400, 400, 400, 400, 400, 429]);
    // Another /64 is another client.
    assert.equal((await attempt(t.app, 'v6-spray-7', 'a wrong password guess', '2001:db8:7:9::1')).statusCode, 400);
  });

  it('registrations are throttled before the password policy runs, weak passwords included', async () => {
    const weak = (i: number) =>
      t.app.inject({
        method: 'POST',
        url: '/v1/auth/register',
        remoteAddress: '192.0.2.77',
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify({ username: `weak-${i}`, password: 'aaaaaaaaaaaaaaaa' }),
      });
    const codes = [(await weak(1)).statusCode, (await weak(2)).statusCode, (await weak(3)).statusCode];
    assert.deepEqual(codes, [400, 400, 429]);
  });
});
