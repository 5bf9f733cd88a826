/**
 * The client SDK (`meridian/client`) against a running server on a real
 * socket: single-flight refresh around expiry, across tabs with a lock,
 * retry of a lost refresh response inside the grace window, a revoked
 * session as an event, logout; and that it stays free of Node-only imports.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  createClient,
  type LockManagerLike,
  type MeridianClient,
  memoryKeyStore,
  SessionEndedError,
  type TokenSet,
  webStorageStore,
} from '../src/sdk/client/index.js';
import { bearer, claimsOf, PASSWORD, register, startTestServer, type TestServer } from './helpers.js';
import { auditLines } from './metric-helpers.js';

type Fetch = typeof fetch;

/** Counts refresh requests; `lose` makes the next refresh's response vanish after the server has answered it. */
function instrumentedFetch() {
  const state = { refreshes: 0, loseNext: false, lostBody: null as null | Record<string, unknown> };
  const fetchImpl: Fetch = async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : input);
    const res = await fetch(input, init);
    if (url.pathname !== '/v1/auth/refresh') return res;
    state.refreshes++;
    if (!state.loseNext) return res;
    state.loseNext = false;
    state.lostBody = (await res.json()) as Record<string, unknown>;
    throw new TypeError('fetch failed: connection reset');
  };
  return { fetchImpl, state };
}

/** The Web Locks API's exclusive mode, for two "tabs" in one process. */
class TabLocks implements LockManagerLike {
  private tails = new Map<string, Promise<unknown>>();
  request<T>(name: string, callback: () => Promise<T>): Promise<T> {
    const run = (this.tails.get(name) ?? Promise.resolve()).then(callback);
    this.tails.set(
      name,
      run.catch(() => undefined),
    );
    return run;
  }
}

/** localStorage, as two tabs of one origin share it. */
function sharedStorage() {
  const items = new Map<string, string>();
  return {
    getItem: (k: string) => items.get(k) ?? null,
    setItem: (k: string, v: string) => void items.set(k, v),
    removeItem: (k: string) => void items.delete(k),
  };
}

describe('client SDK', () => {
  let t: TestServer;
  let user = 0;
  const rotations = () => auditLines(t.logs, 'token.refreshed').length;
  /** A logged-in client for a new user, its fetch instrumented. */
  async function loggedIn(extra: Partial<Parameters<typeof createClient>[0]> = {}) {
    const username = `client-${++user}`;
    await register(t.app, username);
    const { fetchImpl, state } = instrumentedFetch();
    const client = createClient({ baseUrl: t.url, fetch: fetchImpl, now: () => t.clock.now(), locks: null, ...extra });
    const seen: TokenSet[] = [];
    client.on('tokens', (tokens) => seen.push(tokens));
    await client.login(username, PASSWORD);
    return { client, state, seen, username };
  }
  const meAll = (client: MeridianClient, n: number) => Promise.all(Array.from({ length: n }, () => client.fetch('/v1/auth/me')));

  before(async () => {
    t = await startTestServer();
  });
  after(() => t.close());

  it('20 concurrent requests around expiry cause exactly one refresh, before and after the expiry', async () => {
    const { client, state, username } = await loggedIn();
    for (const offset of [-10_000, 1_000]) {
      // Inside the 30 s refresh leeway, then past the access token's expiry.
      t.clock.advance(t.config.accessTokenTtl * 1000 + offset);
      const before = { client: state.refreshes, server: rotations() };
      const responses = await meAll(client, 20);
      assert.deepEqual(
        responses.map((r) => r.status),
        Array(20).fill(200),
      );
      assert.equal(((await responses[0]!.json()) as { username: string }).username, username);
      assert.equal(state.refreshes - before.client, 1);
      assert.equal(rotations() - before.server, 1);
    }
  });

  it('two tabs sharing storage and a Web Lock refresh once between them', async () => {
    const store = webStorageStore(sharedStorage());
    const locks = new TabLocks();
    // Tabs of one origin share the DPoP key as they share the tokens (IndexedDB in a browser).
    const dpop = { keys: memoryKeyStore() };
    const first = await loggedIn({ store, locks, dpop });
    const { fetchImpl, state } = instrumentedFetch();
    const second = createClient({ baseUrl: t.url, fetch: fetchImpl, now: () => t.clock.now(), store, locks, dpop });
    t.clock.advance(t.config.accessTokenTtl * 1000 - 5_000);
    const before = rotations();
    const responses = await Promise.all([meAll(first.client, 10), meAll(second, 10)]);
    assert.ok(responses.flat().every((r) => r.status === 200));
    assert.equal(first.state.refreshes + state.refreshes, 1);
    assert.equal(rotations() - before, 1);
  });

  it('retries a refresh whose response was lost and gets the same successor inside the grace window', async () => {
    const { client, state, seen } = await loggedIn();
    t.clock.advance(t.config.accessTokenTtl * 1000);
    state.loseNext = true;
    const res = await client.fetch('/v1/auth/me');
    assert.equal(res.status, 200);
    assert.equal(state.refreshes, 2);
    assert.equal(seen.at(-1)?.refreshToken, state.lostBody?.refresh_token);
    assert.equal(auditLines(t.logs, 'token.reuse_detected').length, 0);
    const graces = auditLines(t.logs, 'token.refreshed').filter((e) => e.reason === 'grace');
    assert.equal(graces.length, 1);
    // The session carries on: the successor rotates normally.
    t.clock.advance(t.config.accessTokenTtl * 1000);
    assert.equal((await client.fetch('/v1/auth/me')).status, 200);
  });

  it('surfaces a session revoked elsewhere as a "revoked" event and SessionEndedError', async () => {
    const { client, seen } = await loggedIn();
    let revoked = 0;
    client.on('revoked', () => revoked++);
    // Ended elsewhere (as an admin or another device would): the session is bound to the client's DPoP key, so a bare RFC 7009 call could not.
    const { sid, sub } = claimsOf(seen.at(-1)?.accessToken as string);
    await t.services.sessions.revokeSession({ sessionId: sid, userId: sub }, {});
    // The access token is refused at once, the forced refresh is refused, and the client says so.
    await assert.rejects(client.fetch('/v1/auth/me'), (err) => err instanceof SessionEndedError && err.code === 'session_revoked');
    assert.equal(revoked, 1);
    await assert.rejects(client.accessToken(), (err) => err instanceof SessionEndedError && err.code === 'not_logged_in');
  });

  it('logs out on the server and forgets the tokens', async () => {
    const { client, seen } = await loggedIn();
    let loggedOut = 0;
    client.on('logout', () => loggedOut++);
    const access = seen.at(-1)?.accessToken as string;
    await client.logout();
    assert.equal(loggedOut, 1);
    assert.equal((await t.app.inject({ url: '/v1/auth/me', headers: bearer(access) })).statusCode, 401);
    await assert.rejects(client.fetch('/v1/auth/me'), SessionEndedError);
  });

  it('does not send the access token to another origin', async () => {
    const { client, state } = await loggedIn();
    await assert.rejects(client.fetch('http://127.0.0.2:9/steal'), TypeError);
    assert.equal(state.refreshes, 0);
  });
});

describe('SDK packaging', () => {
  it('the client imports nothing Node-only, directly or through its own modules', () => {
    const seen = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      for (const [, found] of readFileSync(file, 'utf8').matchAll(/(?:import|export)[^'"]*from\s*'([^']+)'/g)) {
        const spec = found as string;
        assert.ok(spec.startsWith('./'), `${relative('.', file)} imports ${spec}`);
        visit(join(dirname(file), spec.replace(/\.js$/, '.ts')));
      }
    };
    visit('src/sdk/client/index.ts');
    assert.ok(seen.size >= 4);
  });

  it('package.json exports point at the files the build emits', () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { exports: Record<string, string | Record<string, string>> };
    const targets = Object.values(pkg.exports).flatMap((e) => (typeof e === 'string' ? [e] : Object.values(e)));
    assert.ok(pkg.exports['./verify'] && pkg.exports['./client']);
    for (const target of targets) {
      assert.match(target, /^\.\/dist\/.+\.(d\.ts|js)$/);
      const source = target.replace(/^\.\/dist\//, 'src/').replace(/(\.d)?\.ts$|\.js$/, '.ts');
      assert.ok(existsSync(source), `${target}: no ${source}`);
    }
  });
});
