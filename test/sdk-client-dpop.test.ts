/**
 * meridian/client's DPoP against a server that requires nonces: the client
 * follows `use_dpop_nonce` at the token endpoints (400) and at protected ones
 * (401 with a DPoP challenge), and its session is bound to its key.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createClient, memoryKeyStore, type TokenSet } from '../src/sdk/client/index.js';
import { claimsOf, PASSWORD, register, startTestServer, type TestServer } from './helpers.js';

describe('client SDK with DPoP nonces', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ env: { MERIDIAN_DPOP_NONCE: 'true', MERIDIAN_DPOP_REQUIRED: 'true' } });
  });
  after(() => t.close());

  it('logs in, calls /me and refreshes, retrying once for each nonce it is handed', async () => {
    await register(t.app, 'nonce-client');
    const statuses: number[] = [];
    const counting: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      statuses.push(res.status);
      return res;
    };
    const seen: TokenSet[] = [];
    const client = createClient({ baseUrl: t.url, fetch: counting, now: () => t.clock.now(), locks: null, dpop: { keys: memoryKeyStore() } });
    client.on('tokens', (tokens) => seen.push(tokens));
    await client.login('nonce-client', PASSWORD);
    assert.deepEqual(statuses, [400, 200], 'the first proof had no nonce');
    assert.equal(seen[0]?.tokenType, 'DPoP');
    assert.ok(claimsOf(seen[0]!.accessToken).cnf);

    const me = await client.fetch('/v1/auth/me');
    assert.equal(me.status, 200);
    // The nonce from the token response is the resource's too: no retry needed.
    assert.deepEqual(statuses.slice(2), [200]);

    // Past two proof windows the nonce is stale: the resource asks for a new one (401), the retry has it.
    t.clock.advance(150_000);
    assert.equal((await client.fetch('/v1/auth/me')).status, 200);
    assert.deepEqual(statuses.slice(3), [401, 200]);

    // Once the access token is near expiry the client refreshes first; the refresh endpoint asks for a new nonce (400).
    t.clock.advance(t.config.accessTokenTtl * 1000);
    assert.equal((await client.fetch('/v1/auth/me')).status, 200);
    assert.deepEqual(statuses.slice(5), [400, 200, 200]);
    assert.equal(seen.length, 2);
    assert.equal(seen[1]?.tokenType, 'DPoP');
  });
});
