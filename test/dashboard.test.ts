/**
 * The dashboard's gate and data: off without an admin token (404), the data
 * only for requests bearing it (401 otherwise), and the data is the
 * registry's numbers.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Snapshot } from '../src/observability/dashboard-data.js';
import { bearer, createTestApp, json, login, post, type TestApp } from './helpers.js';

const ADMIN_TOKEN = 'admin-token-for-dashboard-tests-0123456789';

describe('dashboard off (no admin token)', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ backend: 'pglite' });
  });
  after(() => t.close());

  it('answers 404 on every dashboard path, with or without a token', async () => {
    for (const url of ['/dashboard', '/dashboard/data', '/dashboard/assets/dashboard.js', '/dashboard/assets/uPlot.iife.min.js']) {
      for (const headers of [{}, bearer(ADMIN_TOKEN)]) {
        const res = await t.app.inject({ url, headers });
        assert.equal(res.statusCode, 404, url);
        assert.equal(json(res).error, 'not_found');
      }
    }
  });
});

describe('dashboard on', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ env: { MERIDIAN_ADMIN_TOKEN: ADMIN_TOKEN, MERIDIAN_REGION: 'eu-north' } });
  });
  after(() => t.close());

  const data = (headers: Record<string, string> = {}, query = '') => t.app.inject({ url: `/dashboard/data${query}`, headers });

  it('refuses the data without the admin token: 401 with WWW-Authenticate', async () => {
    const cases: Record<string, string>[] = [
      {},
      bearer('wrong-token-wrong-token-wrong'),
      bearer(`${ADMIN_TOKEN}x`),
      { authorization: `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString('base64')}` },
      { authorization: ADMIN_TOKEN },
    ];
    for (const headers of cases) {
      const res = await data(headers);
      assert.equal(res.statusCode, 401, JSON.stringify(headers));
      assert.equal(json(res).error, 'invalid_token');
      assert.match(String(res.headers['www-authenticate']), /^Bearer/);
    }
    // A user's access token is not an admin token.
    const tokens = await login(t.app, 'notadmin');
    assert.equal((await data(bearer(tokens.access_token))).statusCode, 401);
  });

  it('serves the page and its scripts (no data in them) with a strict CSP', async () => {
    const page = await t.app.inject({ url: '/dashboard' });
    assert.equal(page.statusCode, 200);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    assert.match(String(page.headers['content-security-policy']), /default-src 'none'; script-src 'self'/);
    assert.doesNotMatch(page.body, /https?:\/\//, 'the page loads nothing from another origin');
    for (const name of ['dashboard.js', 'dashboard.css', 'uPlot.iife.min.js', 'uPlot.min.css']) {
      const res = await t.app.inject({ url: `/dashboard/assets/${name}` });
      assert.equal(res.statusCode, 200, name);
      assert.ok(page.body.includes(`/dashboard/assets/${name}`), `page loads ${name}`);
    }
    assert.equal((await t.app.inject({ url: '/dashboard/assets/..%2Fpackage.json' })).statusCode, 404);
    assert.equal((await t.app.inject({ url: '/dashboard/assets/index.html' })).statusCode, 404);
  });

  it('answers the data with the token: counters and gauges from the registry', async () => {
    const before = await data(bearer(ADMIN_TOKEN));
    assert.equal(before.statusCode, 200);
    const first = json<{ region: string; everyMs: number; samples: Snapshot[] }>(before);
    assert.equal(first.region, 'eu-north');
    assert.ok(first.samples.length >= 1);
    const start = first.samples.at(-1) as Snapshot;

    const tokens = await login(t.app, 'dashy');
    assert.equal((await post(t.app, '/v1/auth/refresh', { refresh_token: tokens.refresh_token })).statusCode, 200);
    t.services.audit('cache.lookup', { operation: 'refresh_state', result: 'hit' });
    t.services.audit('cache.lookup', { operation: 'refresh_state', result: 'miss' });
    t.services.audit('replication.applied', { peer: 'eu-west', kind: 'rotation', lagSeconds: 0.3 });
    t.services.metrics.queueJobs.set({ queue: 'replication', state: 'waiting' }, 4);
    t.services.metrics.queueJobs.set({ queue: 'replication', state: 'delayed' }, 1);
    t.services.metrics.queueJobs.set({ queue: 'replication', state: 'active' }, 9);
    t.clock.advance(60_000);

    const res = await data(bearer(ADMIN_TOKEN), `?since=${start.t}`);
    assert.equal(res.statusCode, 200);
    const { samples } = json<{ samples: Snapshot[] }>(res);
    const now = samples.at(-1) as Snapshot;
    assert.ok(now.t > start.t);
    assert.equal((now.logins.success ?? 0) - (start.logins.success ?? 0), 1);
    assert.equal((now.refreshes.rotated ?? 0) - (start.refreshes.rotated ?? 0), 1);
    assert.ok((now.dbQueries.select ?? 0) > (start.dbQueries.select ?? 0));
    // The refresh itself was a cache hit (login filled the in-process cache), plus the two reported above.
    assert.deepEqual([now.cacheHits.refresh_state, now.cacheMisses.refresh_state], [2, 1]);
    assert.deepEqual([now.replicationLagCount['eu-west'], now.replicationLagSum['eu-west']], [1, 0.3]);
    assert.deepEqual(now.queueBacklog, { replication: 5 });
    assert.equal(now.activeSessions, 2);
    assert.deepEqual(now.pool, { max: t.config.dbPoolSize, inUse: 0, waiting: 0 });

    assert.equal((await data(bearer(ADMIN_TOKEN), '?since=abc')).statusCode, 400);
    assert.equal((await data(bearer(ADMIN_TOKEN), '?other=1')).statusCode, 400);
  });
});
