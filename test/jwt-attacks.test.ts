import assert from 'node:assert/strict';
import { createHmac, createPublicKey, generateKeyPairSync, sign as rawSign } from 'node:crypto';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { SignJWT, importJWK, type JWK } from 'jose';
import { AccessTokenIssuer } from '../src/auth/access-tokens.js';
import { verifyFailureOf } from '../src/auth/verifier.js';
import { systemRandom } from '../src/util/runtime.js';
import { bearer, claimsOf, createTestApp, decodeJws, json, login, startTestServer, type TestApp, type TestServer } from './helpers.js';
import { addL, flipS, isHighS, nonCanonical, withLowS } from './token-variants.js';

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
  // Low-S, so that each of these is refused for the reason its test names and not for a high s.
  const signed = async (h: Record<string, unknown>, p: Record<string, unknown>) =>
    withLowS(await new SignJWT(p).setProtectedHeader({ ...h, alg: 'ES256' } as never).sign(await importJWK(privateJwk, 'ES256')));

  async function assertRefused(token: string, why: string) {
    const res = await me(token);
    assert.equal(res.statusCode, 401, why);
    assert.equal(json(res).error, 'invalid_token', why);
    assert.equal(res.headers['www-authenticate'], 'Bearer error="invalid_token"');
  }

  it('names each refusal with one failure of a closed set', async () => {
    const reasonOf = (token: string) => {
      try {
        t.services.verifier.verify(token);
      } catch (err) {
        return verifyFailureOf(err);
      }
      return 'accepted';
    };
    const [h, p, sig] = good.split('.') as [string, string, string];
    assert.equal(reasonOf(good), 'accepted');
    assert.equal(reasonOf('not a token'), 'malformed');
    assert.equal(reasonOf(`${h}.${p}.${sig.slice(0, -2)}${sig.endsWith('AA') ? 'BA' : 'AA'}`), 'bad signature');
    assert.equal(reasonOf(await signed(header, { ...payload, aud: 'elsewhere' })), 'wrong audience');
    assert.equal(verifyFailureOf(new Error('bad signature')), undefined, "only the verifier's own errors carry a failure");
  });

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

  // An earlier test moves the clock past `good`'s expiry: these take tokens of their own.
  it('the twin ECDSA signature (r, n - s) of a genuine token', async () => {
    const fresh = (await login(t.app, 'twin')).access_token;
    assert.equal((await me(fresh)).statusCode, 200, 'control');
    assert.equal(isHighS(fresh), false, 'the server issues low-S signatures');
    await assertRefused(flipS(fresh), 'high-S twin of an issued token');
    const input = fresh.split('.').slice(0, 2).join('.');
    for (let i = 0; i < 8; i++) {
      // OpenSSL picks either half at random; some of these come out high-S already.
      const sig = rawSign('sha256', Buffer.from(input), { key: t.services.keys.signingKey().key, dsaEncoding: 'ieee-p1363' }).toString('base64url');
      const high = isHighS(`${input}.${sig}`) ? `${input}.${sig}` : flipS(`${input}.${sig}`);
      await assertRefused(high, 'high-S signature over the genuine claims');
      assert.equal((await me(flipS(high))).statusCode, 200, 'its low-S twin passes (control)');
    }
  });

  it('other base64url spellings of a genuine token', async () => {
    const fresh = (await login(t.app, 'spellings')).access_token;
    assert.equal((await me(fresh)).statusCode, 200, 'control');
    const variants = nonCanonical(fresh);
    assert.ok(variants.some(([label]) => label === 'signature: unused bits of the last character set'));
    for (const [label, token] of variants) await assertRefused(token, label);
  });

  it('every token the server issues is low-S and verifies', async () => {
    const issuer = new AccessTokenIssuer(
      { issuer: t.config.issuer, audience: t.config.audience, clientId: t.config.clientId, region: t.config.region, ttlSeconds: t.config.accessTokenTtl },
      t.services.keys,
      t.clock,
      systemRandom,
    );
    const claims = claimsOf((await login(t.app, 'many-tokens')).access_token);
    const subject = { userId: String(claims.sub), username: String(claims.username), sessionId: String(claims.sid) };
    for (let i = 0; i < 200; i++) {
      const token = issuer.issue(subject);
      assert.equal(isHighS(token), false, `token ${i} is high-S`);
      assert.equal((await me(token)).statusCode, 200, `token ${i} refused`);
    }
  });

  it('/me touches no database', async () => {
    t.queries.clear();
    const token = (await login(t.app, 'nodb')).access_token;
    t.queries.clear();
    for (let i = 0; i < 5; i++) assert.equal((await me(token)).statusCode, 200);
    assert.equal(
      [...t.queries.values()].reduce((a, b) => a + b, 0),
      0,
    );
  });
});

describe('EdDSA tokens have one spelling too', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ backend: 'pglite', env: { MERIDIAN_SIGNING_ALG: 'EdDSA' } });
  });
  after(() => t.close());

  it('refuses S + L and non-canonical base64url', async () => {
    const token = (await login(t.app, 'ed-victim')).access_token;
    const me = (v: string) => t.app.inject({ url: '/v1/auth/me', headers: bearer(v) });
    assert.equal((await me(token)).statusCode, 200, 'control');
    // Ed25519 S is below L < 2^253, so S + L still fits in 32 bytes; RFC 8032 §5.1.7 says refuse it.
    assert.equal((await me(addL(token))).statusCode, 401, 'S + L');
    for (const [label, variant] of nonCanonical(token)) assert.equal((await me(variant)).statusCode, 401, label);
  });
});

/** Writes `request` as raw bytes and reads the connection until the server closes it. */
async function rawExchange(url: string, request: string): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  const { hostname, port } = new URL(url);
  const chunks: Buffer[] = [];
  await new Promise<void>((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.end(request));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('close', () => resolve());
    socket.on('error', reject);
  });
  const text = Buffer.concat(chunks).toString('utf8');
  const [head = '', body = ''] = text.split('\r\n\r\n');
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
  return { status: Number(statusLine.split(' ')[1]), headers, body };
}

describe('requests the HTTP parser refuses get the API error shape (a real socket: inject skips the parser)', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ backend: 'pglite' });
  });
  after(() => t.close());

  it('a bearer token bigger than the header limit: 431 invalid_request', async () => {
    const res = await rawExchange(t.url, `GET /v1/auth/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${'A'.repeat(20_000)}\r\n\r\n`);
    assert.equal(res.status, 431);
    assert.match(res.headers['content-type'] ?? '', /^application\/json/);
    assert.deepEqual(JSON.parse(res.body), { error: 'invalid_request', error_description: 'The request headers are too large.' });
    assert.equal(Number(res.headers['content-length']), Buffer.byteLength(res.body));
    assert.equal(res.headers['x-meridian-region'], t.config.region);
  });

  it('a request that is not HTTP: 400 invalid_request', async () => {
    const res = await rawExchange(t.url, 'NOT HTTP AT ALL\r\n\r\n');
    assert.equal(res.status, 400);
    assert.equal(JSON.parse(res.body).error, 'invalid_request');
  });

  it('the server still answers afterwards (control)', async () => {
    const res = await fetch(`${t.url}/healthz`);
    assert.equal(res.status, 200);
  });
});
