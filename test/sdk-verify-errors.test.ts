/**
 * Failures the verifier SDK meets in the background reach its `onError`:
 * nothing it swallows goes unreported.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createVerifier } from '../src/sdk/verify/index.js';
import { eventually, login, startTestServer } from './helpers.js';

describe('verifier SDK background failures', () => {
  it('a background JWKS refetch that fails is told to onError, and the keys in hand still verify', async () => {
    const t = await startTestServer();
    const errors: unknown[] = [];
    const verifier = createVerifier({ issuer: t.url, audience: t.config.audience, revocationsUri: null, clock: t.clock, onError: (err) => errors.push(err) });
    try {
      const tokens = await login(t.app, 'sdk-background');
      assert.equal((await verifier.verify(tokens.access_token)).sub.length > 0, true);
      await t.app.close();
      // Past the keys' maximum age: the next verification refetches them in the background, from a server that is gone.
      t.clock.advance(301_000);
      assert.ok((await verifier.verify(tokens.access_token)).sub);
      await eventually(() => errors.length > 0, 5000, 'the failed refetch reported');
    } finally {
      verifier.close();
      await t.close().catch(() => {});
    }
  });
});
