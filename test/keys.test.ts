import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { KeyRing } from '../src/auth/keys.js';
import { deriveKey } from '../src/auth/secrets.js';
import { PgKeyStore } from '../src/storage/postgres/repositories.js';
import { bearer, createDatabase, createTestApp, decodeJws, json, login, PASSWORD, post, register, type TestApp } from './helpers.js';
import { ManualClock, systemRandom } from '../src/util/runtime.js';

describe('signing keys', () => {
  let db: { url: string; drop: () => Promise<void> };
  let a: TestApp;
  let b: TestApp;
  const clock = new ManualClock(Date.parse('2026-06-01T12:00:00Z'));

  before(async () => {
    db = await createDatabase();
    // Two servers of one region on one database.
    a = await createTestApp({ databaseUrl: db.url, clock });
    b = await createTestApp({ databaseUrl: db.url, clock });
  });
  after(async () => {
    await a.close();
    await b.close();
    await db.drop();
  });

  const jwks = async (t: TestApp) => json<{ keys: { kid: string }[] }>(await t.app.inject({ url: '/.well-known/jwks.json' })).keys.map((k) => k.kid);

  it('servers of a region share one key, and a token from one verifies on the other', async () => {
    const tokens = await login(a.app, 'shared');
    assert.deepEqual(await jwks(a), await jwks(b));
    assert.equal((await b.app.inject({ url: '/v1/auth/me', headers: bearer(tokens.access_token) })).statusCode, 200);
  });

  it('rotation publishes the new key first, signs with it after the delay, and keeps the old one until its tokens expire', async () => {
    const before = await login(a.app, 'rotator');
    const oldKid = decodeJws(before.access_token).header.kid;
    const newKid = await a.services.keys.rotate();
    await b.services.keys.reload();
    for (const t of [a, b]) assert.deepEqual(new Set(await jwks(t)), new Set([oldKid, newKid]));
    assert.equal(decodeJws((await login(a.app, 'rotator')).access_token).header.kid, oldKid, 'not yet active');

    clock.advance(61_000);
    assert.equal(decodeJws((await login(b.app, 'rotator')).access_token).header.kid, newKid);
    assert.equal(decodeJws((await login(a.app, 'rotator')).access_token).header.kid, newKid);
    // The old key's token, still unexpired, keeps verifying.
    assert.equal((await a.app.inject({ url: '/v1/auth/me', headers: bearer(before.access_token) })).statusCode, 200);
    // Once every token the old key signed has expired, it leaves the JWKS.
    clock.advance((600 + 2 * 30 + 1) * 1000);
    await a.services.keys.reload();
    assert.deepEqual(await jwks(a), [newKid]);
  });
});

describe('signing algorithms', () => {
  for (const alg of ['EdDSA', 'RS256'] as const) {
    it(`${alg} tokens verify against the JWKS with a standard library`, async () => {
      const t = await createTestApp({ backend: 'pglite', env: { MERIDIAN_SIGNING_ALG: alg } });
      try {
        const tokens = await login(t.app, `alg-${alg.toLowerCase()}`);
        const { header } = decodeJws(tokens.access_token);
        assert.equal(header.alg, alg);
        const set = createLocalJWKSet(json(await t.app.inject({ url: '/.well-known/jwks.json' })) as never);
        const { payload } = await jwtVerify(tokens.access_token, set, {
          issuer: 'https://auth.test',
          audience: 'meridian',
          typ: 'at+jwt',
          currentDate: new Date(t.clock.now()),
        });
        assert.equal(payload.username, `alg-${alg.toLowerCase()}`);
        assert.equal((await t.app.inject({ url: '/v1/auth/me', headers: bearer(tokens.access_token) })).statusCode, 200);
      } finally {
        await t.close();
      }
    });
  }
});

describe('master key', () => {
  it('a server with another master key refuses to start, saying why', async () => {
    const db = await createDatabase();
    const first = await createTestApp({ databaseUrl: db.url });
    await first.close();
    await assert.rejects(
      createTestApp({ databaseUrl: db.url, env: { MERIDIAN_MASTER_KEY: Buffer.alloc(32, 9).toString('base64url') } }),
      /cannot be decrypted: MERIDIAN_MASTER_KEY differs/,
    );
    await db.drop();
  });
});

describe('no usable signing key', () => {
  it('a key rotated in under another master key: logins are 503 with Retry-After, not 500', async () => {
    const t = await createTestApp();
    try {
      assert.equal((await register(t.app, 'stranded')).statusCode, 201);
      const other = new KeyRing({
        store: new PgKeyStore(t.db),
        region: t.config.region,
        alg: t.config.signingAlg,
        encryptionKey: deriveKey(Buffer.alloc(32, 9), 'signing-key-encryption'),
        clock: t.clock,
        random: systemRandom,
        publishDelaySeconds: 0,
        tokenLifetimeSeconds: 600,
      });
      await other.rotate(true);
      await assert.rejects(t.services.keys.reload(), /cannot be decrypted/);
      assertUnavailable(await post(t.app, '/v1/auth/login', { username: 'stranded', password: PASSWORD }));
    } finally {
      await t.close();
    }
  });

  it('a region left with no active signing key: logins are 503 with Retry-After, not 500', async () => {
    const t = await createTestApp();
    try {
      assert.equal((await register(t.app, 'keyless')).statusCode, 201);
      // As an operator editing the table by hand might leave it.
      await t.db.query('UPDATE signing_keys SET retired_at = $1', [new Date(t.clock.now())]);
      await t.services.keys.reload();
      assertUnavailable(await post(t.app, '/v1/auth/login', { username: 'keyless', password: PASSWORD }));
    } finally {
      await t.close();
    }
  });
});

function assertUnavailable(res: Awaited<ReturnType<typeof post>>): void {
  assert.equal(res.statusCode, 503, res.body);
  assert.deepEqual(json(res), { error: 'temporarily_unavailable', error_description: 'The service is temporarily unavailable; try again later.' });
  assert.equal(res.headers['retry-after'], '60');
}
