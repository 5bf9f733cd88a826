/**
 * The verifier SDK (`meridian/verify`) against a running server on a real
 * socket: keys from the JWKS, the server's strict rules, the revocation feed
 * (streamed and polled), middleware for Fastify and Express, and a verifier
 * in another process.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import Fastify from 'fastify';
import { AppError, type AuthenticatedRequest, createVerifier, expressAuth, fastifyAuth, type Verifier, type VerifierConfig } from '../src/sdk/verify/index.js';
import { ManualClock, systemClock } from '../src/util/runtime.js';
import { bearer, eventually, json, login, post, startTestServer, type TestServer } from './helpers.js';
import { flipS, nonCanonical } from './token-variants.js';

/** A fetch that counts the requests to each path. */
function countingFetch() {
  const counts = new Map<string, number>();
  const fetchImpl: typeof fetch = (input, init) => {
    const path = new URL(input instanceof Request ? input.url : input).pathname;
    counts.set(path, (counts.get(path) ?? 0) + 1);
    return fetch(input, init);
  };
  return { fetchImpl, count: (path: string) => counts.get(path) ?? 0 };
}

const code = (err: unknown): string => (err instanceof AppError ? err.code : String(err));

/**
 * Polls until `verify` refuses the token; returns the milliseconds it took.
 * The loop gives up at `boundMs`, so a verifier that misses the bound fails.
 */
async function msUntilRefused(check: () => Promise<boolean>, boundMs: number): Promise<number> {
  const start = performance.now();
  await eventually(async () => !(await check()), boundMs, `a refusal: still accepted after ${boundMs} ms`, 5);
  return performance.now() - start;
}

// The documented bound (docs/sdk.md): maxStalenessSeconds, default 30 s.
const BOUND_MS = 30_000;

describe('verifier SDK', () => {
  let t: TestServer;
  const verifiers: Verifier[] = [];
  const make = (extra: Partial<VerifierConfig> = {}): Verifier => {
    const v = createVerifier({ issuer: t.url, audience: t.config.audience, clock: t.clock, ...extra });
    verifiers.push(v);
    return v;
  };
  before(async () => {
    t = await startTestServer();
  });
  after(async () => {
    for (const v of verifiers) v.close();
    await t.close();
  });

  it('verifies with the server rules and caches keys and verified tokens', async () => {
    const { fetchImpl, count } = countingFetch();
    const v = make({ fetch: fetchImpl });
    const tokens = await login(t.app, 'sdk-basic');
    const claims = await v.verify(tokens.access_token);
    assert.equal(claims.username, 'sdk-basic');
    assert.equal(claims.iss, t.url);
    await v.verify(tokens.access_token);
    assert.equal(count('/.well-known/jwks.json'), 1);
    await assert.rejects(v.verify(`${tokens.access_token.slice(0, -4)}AAAA`), (e) => code(e) === 'invalid_token');
    await assert.rejects(v.verify('not a token'), (e) => code(e) === 'invalid_token');
    const otherAudience = make({ audience: 'someone-else', fetch: fetchImpl });
    await assert.rejects(otherAudience.verify(tokens.access_token), (e) => code(e) === 'invalid_token');
    // Expiry is checked on cached tokens too (this verifier does without the feed, which would go stale meanwhile).
    const noFeed = make({ fetch: fetchImpl, revocationsUri: null });
    await noFeed.verify(tokens.access_token);
    t.clock.advance((t.config.accessTokenTtl + t.config.clockSkewSeconds + 1) * 1000);
    await assert.rejects(noFeed.verify(tokens.access_token), (e) => code(e) === 'invalid_token');
  });

  it('refuses every other spelling of a genuine token: the high-S twin and non-canonical base64url', async () => {
    const v = make({ revocationsUri: null });
    const token = (await login(t.app, 'sdk-spellings')).access_token;
    // Before the genuine token is verified (and cached), and after.
    for (const round of ['before', 'after']) {
      for (const [label, variant] of [['high-S twin', flipS(token)], ...nonCanonical(token)] as Array<[string, string]>) {
        await assert.rejects(v.verify(variant), (e) => code(e) === 'invalid_token', `${label}, ${round}`);
      }
      assert.equal((await v.verify(token)).username, 'sdk-spellings');
    }
  });

  it('refetches the JWKS for a new key id, at most once per cooldown', async () => {
    const { fetchImpl, count } = countingFetch();
    const v = make({ fetch: fetchImpl, revocationsUri: null });
    await v.verify((await login(t.app, 'sdk-keys')).access_token);
    await t.services.keys.rotate(true);
    const rotated = (await login(t.app, 'sdk-keys')).access_token;
    // Inside the cooldown an unknown kid is not fetched for.
    await assert.rejects(v.verify(rotated), (e) => code(e) === 'invalid_token');
    assert.equal(count('/.well-known/jwks.json'), 1);
    t.clock.advance(31_000);
    assert.equal((await v.verify(rotated)).username, 'sdk-keys');
    assert.equal(count('/.well-known/jwks.json'), 2);
    // A burst of forged key ids costs nothing more.
    const [, payload] = rotated.split('.');
    for (let i = 0; i < 20; i++) {
      const header = Buffer.from(JSON.stringify({ typ: 'at+jwt', alg: 'ES256', kid: `forged-${i}` })).toString('base64url');
      await assert.rejects(v.verify(`${header}.${payload}.AAAA`), (e) => code(e) === 'invalid_token');
    }
    assert.equal(count('/.well-known/jwks.json'), 2);
  });

  for (const mode of ['stream', 'poll'] as const) {
    it(`refuses a logged-out session within the bound (${mode})`, async (ctx) => {
      const v = make({ revocationMode: mode, pollIntervalSeconds: 1 });
      const tokens = await login(t.app, `sdk-logout-${mode}`);
      await v.verify(tokens.access_token);
      const res = await post(t.app, '/v1/auth/logout', {}, bearer(tokens.access_token));
      assert.equal(res.statusCode, 204);
      const ms = await msUntilRefused(
        () =>
          v.verify(tokens.access_token).then(
            () => true,
            (e) => (code(e) === 'invalid_token' ? false : Promise.reject(e)),
          ),
        BOUND_MS,
      );
      ctx.diagnostic(`${mode}: logout seen by the verifier after ${ms.toFixed(1)} ms`);
    });
  }

  it('fails closed when the feed goes silent past maxStalenessSeconds, open only when told to', async () => {
    const other = await startTestServer({ backend: 'pglite', clock: t.clock });
    const clock = new ManualClock(t.clock.now());
    const closed = createVerifier({ issuer: other.url, audience: other.config.audience, clock, maxStalenessSeconds: 30 });
    const open = createVerifier({ issuer: other.url, audience: other.config.audience, clock, maxStalenessSeconds: Number.POSITIVE_INFINITY });
    verifiers.push(closed, open);
    const tokens = await login(other.app, 'sdk-stale');
    await closed.verify(tokens.access_token);
    await open.verify(tokens.access_token);
    await other.close();
    clock.advance(31_000);
    await assert.rejects(closed.verify(tokens.access_token), (e) => code(e) === 'temporarily_unavailable');
    assert.equal((await open.verify(tokens.access_token)).username, 'sdk-stale');
  });

  it('answers 401 (with WWW-Authenticate) or passes claims on, as Fastify middleware', async () => {
    const v = make();
    const api = Fastify();
    api.addHook('onRequest', fastifyAuth(v));
    api.get('/orders', async (request) => ({ user: (request as unknown as AuthenticatedRequest).auth.username }));
    const tokens = await login(t.app, 'sdk-fastify');
    const ok = await api.inject({ url: '/orders', headers: bearer(tokens.access_token) });
    assert.equal(ok.statusCode, 200);
    assert.deepEqual(json(ok), { user: 'sdk-fastify' });
    for (const headers of [{}, bearer('abc.def.ghi')]) {
      const refused = await api.inject({ url: '/orders', headers });
      assert.equal(refused.statusCode, 401);
      assert.equal(refused.headers['www-authenticate'], 'Bearer error="invalid_token"');
      assert.equal(json(refused).error, 'invalid_token');
    }
    await api.close();
  });

  it('does the same as Express middleware', async () => {
    const v = make();
    const api = express();
    api.use(expressAuth(v));
    api.get('/orders', (req, res) => {
      res.json({ user: (req as unknown as AuthenticatedRequest).auth.username });
    });
    const server = api.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const tokens = await login(t.app, 'sdk-express');
      const ok = await fetch(`${base}/orders`, { headers: bearer(tokens.access_token) });
      assert.equal(ok.status, 200);
      assert.deepEqual(await ok.json(), { user: 'sdk-express' });
      const refused = await fetch(`${base}/orders`);
      assert.equal(refused.status, 401);
      assert.equal(refused.headers.get('www-authenticate'), 'Bearer error="invalid_token"');
      assert.equal(((await refused.json()) as { error: string }).error, 'invalid_token');
    } finally {
      server.close();
    }
  });
});

describe('verifier SDK in another process', () => {
  let t: TestServer;
  before(async () => {
    // Real time: the other process verifies on its own clock.
    t = await startTestServer({ services: { clock: systemClock } });
  });
  after(() => t.close());

  it('verifies tokens and sees a logout within the bound', async (ctx) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/verifier-process.ts', t.url, t.config.audience], { stdio: ['pipe', 'pipe', 'inherit'] });
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    const answer = async (): Promise<Record<string, unknown>> => JSON.parse((await lines.next()).value as string);
    const ask = async (token: string) => {
      child.stdin.write(`${token}\n`);
      return answer();
    };
    try {
      assert.deepEqual(await answer(), { ready: true });
      const tokens = await login(t.app, 'sdk-remote');
      const accepted = await ask(tokens.access_token);
      assert.equal(accepted.ok, true);
      await post(t.app, '/v1/auth/logout', {}, bearer(tokens.access_token));
      const ms = await msUntilRefused(async () => (await ask(tokens.access_token)).ok === true, BOUND_MS);
      ctx.diagnostic(`other process: logout seen after ${ms.toFixed(1)} ms`);
      assert.deepEqual(await ask(tokens.access_token), { ok: false, error: 'invalid_token' });
    } finally {
      child.stdin.end();
      await once(child, 'exit');
    }
  });
});
