/**
 * The verifier SDK's middleware with DPoP-bound access tokens (RFC 9449 §7):
 * a bound token is taken only with a proof by its key, for this resource's
 * URL, naming the token; everything else gets a DPoP challenge.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { type AuthenticatedRequest, createVerifier, fastifyAuth, type Verifier } from '../src/sdk/verify/index.js';
import { DpopKey } from './dpop-keys.js';
import { json, PASSWORD, post, register, startTestServer, type TestServer, type Tokens } from './helpers.js';

const RESOURCE = 'https://api.test';

describe('verifier SDK with DPoP-bound tokens', () => {
  let t: TestServer;
  let v: Verifier;
  let api: FastifyInstance;
  let key: DpopKey;
  let access: string;
  before(async () => {
    t = await startTestServer();
    v = createVerifier({ issuer: t.url, audience: t.config.audience, clock: t.clock, resourceOrigins: [RESOURCE] });
    api = Fastify();
    api.addHook('onRequest', fastifyAuth(v));
    api.get('/orders', async (request) => ({ user: (request as unknown as AuthenticatedRequest).auth.username }));
    await register(t.app, 'sdk-dpop');
    key = new DpopKey(t.clock);
    const res = await post(
      t.app,
      '/v1/auth/login',
      { username: 'sdk-dpop', password: PASSWORD },
      {
        dpop: key.proof('POST', '/v1/auth/login', { claims: { htu: `${t.url}/v1/auth/login` } }),
      },
    );
    access = json<Tokens>(res).access_token;
  });
  after(async () => {
    await api.close();
    v.close();
    await t.close();
  });

  const call = (authorization: string, proof?: string) => api.inject({ url: '/orders?page=2', headers: { authorization, ...(proof ? { dpop: proof } : {}) } });
  const proofFor = (k: DpopKey, token = access, htu = `${RESOURCE}/orders`) => k.proof('GET', '/orders', { accessToken: token, claims: { htu } });

  it('takes a bound token with a proof by its key for this URL', async () => {
    const ok = await call(`DPoP ${access}`, proofFor(key));
    assert.equal(ok.statusCode, 200, ok.body);
    assert.deepEqual(json(ok), { user: 'sdk-dpop' });
  });

  it('refuses it as Bearer, without a proof, replayed, by another key, for another URL', async () => {
    const bearer = await call(`Bearer ${access}`);
    assert.equal(bearer.statusCode, 401);
    assert.equal(json(bearer).error, 'invalid_token');
    assert.match(String(bearer.headers['www-authenticate']), /^DPoP error="invalid_token"/);
    const once = proofFor(key);
    assert.equal((await call(`DPoP ${access}`, once)).statusCode, 200);
    const cases: Record<string, string | undefined> = {
      'no proof': undefined,
      replayed: once,
      'another key': proofFor(new DpopKey(t.clock)),
      'another URL': proofFor(key, access, `${t.url}/orders`),
      'another token': proofFor(key, `${access}x`),
    };
    for (const [name, proof] of Object.entries(cases)) {
      const res = await call(`DPoP ${access}`, proof);
      assert.equal(res.statusCode, 400, name);
      assert.equal(json(res).error, 'invalid_dpop_proof', name);
      assert.match(String(res.headers['www-authenticate']), /^DPoP error="invalid_dpop_proof"/, name);
    }
  });
});
