import assert from 'node:assert/strict';
import { createHmac, createPublicKey, generateKeyPairSync, sign as rawSign } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { SignJWT, importJWK, type JWK } from 'jose';
import { bearer, createTestApp, decodeJws, json, login, type TestApp } from './helpers.js';

const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

describe('access-token verification refuses forged and broken tokens', () => {
  let t: TestApp;
  let good: string;
  let header: Record<string, unknown>;
  let payload: Record<string, unknown>;
  let privateJwk: JWK;

  before(async () => {
    t = await createTestApp({ backend: 'pglite' });
    good = (await login(t.app, 'victim')).access_token;
    ({ header, claims: payload } = decodeJws(good));
    // The real private key, read back the way the server does, to forge tokens the signature check alone would pass.
    const signer = t.services.keys.signingKey();
    privateJwk = signer.key.export({ format: 'jwk' }) as JWK;
  });
  after(() => t.close());

  const me = (token: string) => t.app.inject({ url: '/v1/auth/me', headers: bearer(token) });
  const signed = async (h: Record<string, unknown>, p: Record<string, unknown>) =>
    new SignJWT(p).setProtectedHeader({ ...h, alg: 'ES256' } as never).sign(await importJWK(privateJwk, 'ES256'));

  async function assertRefused(token: string, why: string) {
    const res = await me(token);
    assert.equal(res.statusCode, 401, why);
    assert.equal(json(res).error, 'invalid_token', why);
    assert.equal(res.headers['www-authenticate'], 'Bearer error="invalid_token"');
  }

  it('accepts the genuine token (control)', async () => {
    assert.equal((await me(good)).statusCode, 200);
    assert.equal((await me(await signed(header, payload))).statusCode, 200, 'a re-signed copy with the real key passes');
  });

  it('alg none', async () => {
    await assertRefused(`${b64({ ...header, alg: 'none' })}.${b64(payload)}.`, 'alg none, empty signature');
    await assertRefused(`${b64({ ...header, alg: 'none' })}.${b64(payload)}.${good.split('.')[2]}`, 'alg none, old signature');
  });

  it('HS256 signed with the public key', async () => {
    const pub = createPublicKey(t.services.keys.signingKey().key);
    for (const secret of [JSON.stringify(pub.export({ format: 'jwk' })), String(pub.export({ format: 'pem', type: 'spki' }))]) {
      const input = `${b64({ ...header, alg: 'HS256' })}.${b64(payload)}`;
      const mac = createHmac('sha256', secret).update(input).digest('base64url');
      await assertRefused(`${input}.${mac}`, 'HS256 confusion');
    }
  });

  it('a key of our own, with our kid or another', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    for (const kid of [header.kid, 'attacker']) {
      const input = `${b64({ ...header, kid })}.${b64(payload)}`;
      const sig = rawSign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url');
      await assertRefused(`${input}.${sig}`, `foreign key, kid ${kid}`);
    }
  });

  it('wrong or missing kid, typ, iss, aud', async () => {
    await assertRefused(await signed({ ...header, kid: 'nope' }, payload), 'unknown kid');
    await assertRefused(await signed({ typ: 'at+jwt' }, payload), 'missing kid');
    await assertRefused(await signed({ ...header, typ: 'JWT' }, payload), 'typ JWT');
    await assertRefused(await signed({ kid: header.kid }, payload), 'missing typ');
    await assertRefused(await signed(header, { ...payload, iss: 'https://evil.test' }), 'wrong iss');
    await assertRefused(await signed(header, { ...payload, aud: 'other-api' }), 'wrong aud');
    await assertRefused(await signed(header, { ...payload, aud: undefined }), 'missing aud');
    const critInput = `${b64({ ...header, crit: ['exp'] })}.${b64(payload)}`;
    const critSig = rawSign('sha256', Buffer.from(critInput), { key: t.services.keys.signingKey().key, dsaEncoding: 'ieee-p1363' }).toString('base64url');
    await assertRefused(`${critInput}.${critSig}`, 'crit');
  });

  it('missing or mistyped required claims', async () => {
    for (const claim of ['exp', 'iat', 'sub', 'jti', 'sid']) {
      await assertRefused(await signed(header, { ...payload, [claim]: undefined }), `missing ${claim}`);
    }
    await assertRefused(await signed(header, { ...payload, exp: String(payload.exp) }), 'exp as string');
    await assertRefused(await signed(header, { ...payload, sub: 42 }), 'sub as number');
  });

  it('expired, issued in the future, too old, not yet valid', async () => {
    const now = Math.floor(t.clock.now() / 1000);
    await assertRefused(await signed(header, { ...payload, iat: now - 700, exp: now - 100 }), 'expired');
    await assertRefused(await signed(header, { ...payload, iat: now + 3600, exp: now + 4200 }), 'future iat');
    await assertRefused(await signed(header, { ...payload, iat: now - 7200, exp: now + 600 }), 'older than the max age');
    await assertRefused(await signed(header, { ...payload, nbf: now + 3600 }), 'nbf in the future');
  });

  it('the same token expires on schedule even after it was cached', async () => {
    const fresh = (await login(t.app, 'cached-then-expired')).access_token;
    assert.equal((await me(fresh)).statusCode, 200);
    t.clock.advance((600 + 31) * 1000);
    await assertRefused(fresh, 'expired after caching');
  });

  it('tampered payload, header or signature; junk', async () => {
    const [h, p, s] = good.split('.') as [string, string, string];
    await assertRefused(`${h}.${b64({ ...payload, sub: 'someone-else' })}.${s}`, 'payload');
    await assertRefused(`${b64({ ...header, extra: 1 })}.${p}.${s}`, 'header');
    await assertRefused(`${h}.${p}.${s.slice(0, -4)}AAAA`, 'signature');
    for (const junk of ['a.b.c', 'a.b', '...', `${h}.${p}`, `${h}.${p}.${s}.x`, '%%%.%%%.%%%', `${b64('[]')}.${b64('null')}.${s}`, 'x'.repeat(9000)]) {
      await assertRefused(junk, `junk ${junk.slice(0, 20)}`);
    }
  });

  it('/me touches no database', async () => {
    t.queries.clear();
    const token = (await login(t.app, 'nodb')).access_token;
    t.queries.clear();
    for (let i = 0; i < 5; i++) assert.equal((await me(token)).statusCode, 200);
    assert.equal([...t.queries.values()].reduce((a, b) => a + b, 0), 0);
  });
});
