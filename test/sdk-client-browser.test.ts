/**
 * The client SDK in a real browser: Debian's headless Chromium loads the SDK
 * as ES modules (transpiled from src/sdk/client, served by the browser's
 * request interception under the server's own origin) and talks to a server
 * on loopback. Two clients sharing localStorage stand for two tabs: with the
 * browser's own Web Locks they refresh once between them, and with the
 * DPoP key both find in IndexedDB (non-extractable) every call carries a
 * proof the server checks.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { type Browser, chromium } from 'playwright-core';
import ts from 'typescript';
import { ManualClock } from '../src/util/runtime.js';
import { claimsOf, PASSWORD, register, startTestServer, type TestServer } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is absent: install Debian's chromium (apt-get install -y chromium) to run the browser test`;
const SDK_DIR = new URL('../src/sdk/client/', import.meta.url);

/** Each client module as browser JavaScript, by its .js name. */
function sdkModules(): Map<string, string> {
  const out = new Map<string, string>();
  for (const file of readdirSync(SDK_DIR).filter((f) => f.endsWith('.ts'))) {
    const source = readFileSync(new URL(file, SDK_DIR), 'utf8');
    const { outputText } = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 } });
    out.set(file.replace(/\.ts$/, '.js'), outputText);
  }
  return out;
}

describe('client SDK in headless Chromium', { skip }, () => {
  let t: TestServer;
  let browser: Browser;
  before(async () => {
    // The browser signs DPoP proofs with its own clock: the server's starts at the same time, and the test moves both.
    t = await startTestServer({ backend: 'pglite', clock: new ManualClock(Date.now()) });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  });
  after(async () => {
    await browser?.close();
    await t?.close();
  });

  it('logs in with DPoP, refreshes once across two tabs under Web Locks, and logs out; the key never leaves', async () => {
    await register(t.app, 'browser-user');
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(String(err)));
    const modules = sdkModules();
    // The SDK and an empty page come from the test under the server's origin; every other request reaches the server.
    await page.route(`${t.url}/sdk/**`, (route) => {
      const name = new URL(route.request().url()).pathname.slice('/sdk/'.length);
      if (name === 'index.html') return route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>sdk</title>' });
      const js = modules.get(name);
      return js ? route.fulfill({ contentType: 'text/javascript', body: js }) : route.fulfill({ status: 404, body: '' });
    });
    // tsx compiles this file keeping function names through an `__name` helper, which the functions handed to the page still call.
    await page.addInitScript('globalThis.__name = (fn) => fn;');
    await page.exposeFunction('advanceServerClock', (ms: number) => t.clock.advance(ms));
    await page.goto(`${t.url}/sdk/index.html`);

    const result = await page.evaluate(
      async ({ username, password, ttlMs }) => {
        const url = '/sdk/index.js';
        const sdk = (await import(url)) as typeof import('../src/sdk/client/index.js');
        let refreshes = 0;
        const counting: typeof fetch = (input, init) => {
          if (String(input).endsWith('/v1/auth/refresh')) refreshes++;
          return fetch(input, init);
        };
        let skew = 0; // moves both tabs' clocks to the brink of expiry
        const tab = () =>
          sdk.createClient({ baseUrl: location.origin, store: sdk.webStorageStore(localStorage), fetch: counting, now: () => Date.now() + skew });
        const [first, second] = [tab(), tab()];
        await first.login(username, password);
        const before = (await first.fetch('/v1/auth/me')).status;
        const oldAccess = await first.accessToken();
        const tokenType = JSON.parse(localStorage.getItem('meridian.session') ?? '{}').tokenType;
        skew = ttlMs - 5_000;
        await (globalThis as unknown as { advanceServerClock(ms: number): Promise<void> }).advanceServerClock(skew);
        const all = await Promise.all([
          ...Array.from({ length: 5 }, () => first.fetch('/v1/auth/me')),
          ...Array.from({ length: 5 }, () => second.fetch('/v1/auth/me')),
        ]);
        let loggedOut = false;
        first.on('logout', () => {
          loggedOut = true;
        });
        await first.logout();
        // The key pair the tabs shared, as IndexedDB holds it: the private half cannot be exported.
        const pair = await new Promise<CryptoKeyPair>((resolve, reject) => {
          const open = indexedDB.open('meridian-dpop');
          open.onerror = () => reject(open.error);
          open.onsuccess = () => {
            const get = open.result.transaction('keys').objectStore('keys').get('pair');
            get.onsuccess = () => resolve(get.result as CryptoKeyPair);
            get.onerror = () => reject(get.error);
          };
        });
        const exported = await crypto.subtle.exportKey('jwk', pair.privateKey).then(
          () => 'exported',
          (err: Error) => err.name,
        );
        const publicJwk = await crypto.subtle.exportKey('jwk', pair.publicKey);
        return {
          tokenType,
          extractable: pair.privateKey.extractable,
          exported,
          publicJwk,
          hasLocks: typeof navigator.locks?.request === 'function',
          before,
          statuses: all.map((r) => r.status),
          refreshes,
          loggedOut,
          stored: localStorage.getItem('meridian.session'),
          oldAccess,
        };
      },
      { username: 'browser-user', password: PASSWORD, ttlMs: t.config.accessTokenTtl * 1000 },
    );

    assert.deepEqual(errors, []);
    assert.equal(result.hasLocks, true);
    assert.equal(result.before, 200);
    assert.deepEqual(result.statuses, Array(10).fill(200));
    assert.equal(result.refreshes, 1);
    assert.equal(result.tokenType, 'DPoP');
    assert.equal(result.extractable, false);
    assert.equal(result.exported, 'InvalidAccessError');
    // The session was bound to that key: its access tokens name its thumbprint.
    const { crv, kty, x, y } = result.publicJwk as Record<string, string>;
    const jkt = createHash('sha256').update(JSON.stringify({ crv, kty, x, y })).digest('base64url');
    assert.deepEqual(claimsOf(result.oldAccess).cnf, { jkt });
    assert.equal(result.loggedOut, true);
    assert.equal(result.stored, null);
    // The logout reached the server: the session's access tokens are refused.
    const sid = claimsOf(result.oldAccess).sid;
    const { rows } = await t.db.query<{ revoked_at: Date | null }>('SELECT revoked_at FROM sessions WHERE id = $1', [sid]);
    assert.notEqual(rows[0]?.revoked_at, null);
  });
});
