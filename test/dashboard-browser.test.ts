/**
 * The dashboard as a person sees it: Debian's headless Chromium, driven by
 * playwright-core, opens the page of a server listening on loopback (the
 * embedded database), enters the admin token, and the charts fill with the
 * logins and refreshes made over HTTP. No console errors; a screenshot is
 * saved to test/.artifacts/dashboard.png.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type BrowserContext, chromium } from 'playwright-core';
import { systemClock } from '../src/util/runtime.js';
import { createTestApp, PASSWORD, type TestApp } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const ADMIN_TOKEN = 'browser-test-admin-token-0123456789';
const ARTIFACTS = new URL('./.artifacts/', import.meta.url);
const FED_CHARTS = ['chart-logins', 'chart-refreshes', 'chart-cache', 'chart-db'];
const UNFED_CHARTS = ['chart-queue', 'chart-replication'];

const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is absent: install Debian's chromium (apt-get install -y chromium) to run the browser test`;

describe('dashboard in headless Chromium', { skip }, () => {
  let t: TestApp;
  let base: string;
  let context: BrowserContext;
  let profile: string;

  before(async () => {
    // Real time: the page computes rates per second between readings.
    t = await createTestApp({ backend: 'pglite', env: { MERIDIAN_ADMIN_TOKEN: ADMIN_TOKEN }, services: { clock: systemClock } });
    base = await t.app.listen({ host: '127.0.0.1', port: 0 });
    profile = mkdtempSync(join(tmpdir(), 'meridian-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1400, height: 1000 },
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
  });

  after(async () => {
    await context?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    await t?.close();
  });

  async function call(path: string, body: unknown): Promise<Record<string, string>> {
    const res = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return res.status === 204 ? {} : ((await res.json()) as Record<string, string>);
  }

  /** Logs each user in and refreshes twice; one wrong password; the cache reports a few lookups. */
  async function traffic(users: string[]): Promise<void> {
    for (const username of users) {
      await call('/v1/auth/register', { username, password: PASSWORD });
      const tokens = await call('/v1/auth/login', { username, password: PASSWORD });
      assert.ok(tokens.refresh_token, 'login answered tokens');
      const next = await call('/v1/auth/refresh', { refresh_token: tokens.refresh_token });
      assert.ok(next.refresh_token, 'refresh answered tokens');
      await call('/v1/auth/refresh', { refresh_token: next.refresh_token });
    }
    await call('/v1/auth/login', { username: users[0], password: 'a wrong password, on purpose' });
    // Each refresh above was a cache hit (two per user); as many misses reported here make the hit ratio 50 %.
    for (let i = 0; i < 2 * users.length; i++) t.services.audit('cache.lookup', { operation: 'refresh_state', result: 'miss' });
  }

  it('shows live charts of logins, refreshes, cache and database; no data for queues and replication yet', async () => {
    await traffic(['ana', 'ben', 'cleo']);
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (msg) => {
      if (msg.type() === 'error') problems.push(`console: ${msg.text()}`);
    });
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('requestfailed', (req) => problems.push(`request failed: ${req.url()}`));

    await page.goto(`${base}/dashboard`);
    await page.fill('#token', ADMIN_TOKEN);
    await page.click('#auth button[type=submit]');
    await page.waitForFunction(
      (ids) => ids.every((id) => Number(document.getElementById(id)?.dataset.points) > 0 && document.querySelector(`#${id} canvas`)),
      FED_CHARTS,
      { timeout: 30_000 },
    );

    // More traffic while the page is open: a later poll adds readings and shows it.
    const shown = Number(await page.getAttribute('#chart-logins', 'data-points'));
    await traffic(['dan', 'eve']);
    await page.waitForFunction(
      (before) =>
        Number(document.getElementById('chart-logins')?.dataset.points) > before &&
        Number.parseFloat(document.getElementById('tile-logins')?.textContent ?? '') > 0,
      shown,
      { timeout: 30_000 },
    );
    // Sessions are counted in the database every few seconds: wait for the count to catch up.
    await page.waitForFunction(() => document.getElementById('tile-sessions')?.textContent === '5', null, { timeout: 30_000 });

    for (const id of UNFED_CHARTS) {
      assert.equal(await page.locator(`#${id} .nodata`).isVisible(), true, `${id} says no data`);
      assert.equal(await page.locator(`#${id} canvas`).count(), 0);
    }
    for (const id of FED_CHARTS) assert.equal(await page.locator(`#${id} .nodata`).isVisible(), false, `${id} has data`);
    assert.equal(await page.textContent('#region'), 'region local');
    assert.match((await page.textContent('#tile-cache')) ?? '', /^50\.0?0? %$/);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('meridian.adminToken')), ADMIN_TOKEN);

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: new URL('dashboard.png', ARTIFACTS).pathname, fullPage: true });

    // The token is asked for once per tab: a reload goes straight to the charts.
    await page.reload();
    await page.waitForFunction(() => Number(document.getElementById('chart-db')?.dataset.points) > 0, null, { timeout: 30_000 });
    assert.equal(await page.isVisible('#auth'), false);
    assert.deepEqual(problems, []);
  });

  it('asks again for the token when the server refuses it', async () => {
    const page = await context.newPage();
    await page.goto(`${base}/dashboard`);
    await page.evaluate(() => sessionStorage.setItem('meridian.adminToken', 'not-the-admin-token-at-all'));
    await page.reload();
    await page.waitForSelector('#auth-error:not([hidden])', { timeout: 30_000 });
    assert.equal(await page.textContent('#auth-error'), 'The server refused this token.');
    assert.equal(await page.evaluate(() => sessionStorage.getItem('meridian.adminToken')), null);
  });
});
