/**
 * The metrics not fed by audit events (those are in audit.test.ts): the
 * exposition, DB load and pool, active sessions, HTTP latency, access-token
 * verifications; each moves when its event happens.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ACTIVE_SESSIONS_EVERY_MS } from '../src/observability/gauges.js';
import { SQL } from '../src/storage/postgres/sql.js';
import { BACKENDS, bearer, createTestApp, eventually, login, post, type TestApp } from './helpers.js';
import { deltas, metricValue } from './metric-helpers.js';

describe('metrics', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ env: { MERIDIAN_REGION: 'ap-south' } });
  });
  after(() => t.close());

  it('/metrics serves every declared metric, the process metrics and the region label', async () => {
    const res = await t.app.inject({ url: '/metrics' });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/plain/);
    for (const metric of t.services.metrics.registry.getMetricsAsArray()) {
      assert.ok(res.body.includes(`# HELP ${metric.name} `), `missing ${metric.name}`);
      assert.match(metric.name, /^meridian_[a-z0-9_]+$/);
    }
    assert.match(res.body, /^meridian_process_cpu_user_seconds_total\{region="ap-south"\} /m);
    assert.match(res.body, /^meridian_active_sessions\{region="ap-south"\} 0$/m);
  });

  it('counts each statement by kind and result, with its latency', async () => {
    const m = t.services.metrics;
    const moved = await deltas(
      m,
      {
        ok: ['meridian_db_queries_total', { statement: 'select', result: 'ok' }],
        error: ['meridian_db_queries_total', { statement: 'select', result: 'error' }],
        latency: ['meridian_db_query_duration_seconds_count', { statement: 'select' }],
      },
      async () => {
        await t.db.query(SQL.ping);
        await assert.rejects(t.db.query('SELECT * FROM no_such_table'));
      },
    );
    assert.deepEqual(moved, { ok: 1, error: 1, latency: 2 });
  });

  it('counts active sessions from the database, at most once per window', async () => {
    const m = t.services.metrics;
    const active = () => metricValue(m, 'meridian_active_sessions');
    t.clock.advance(ACTIVE_SESSIONS_EVERY_MS);
    await m.sample();
    const start = await active();
    const tokens = await login(t.app, 'sam');
    await login(t.app, 'sam');
    // Inside the window the last count stands, and no query is made.
    const selects = t.queries.get('select') ?? 0;
    await m.sample();
    assert.equal(await active(), start);
    assert.equal(t.queries.get('select') ?? 0, selects);

    t.clock.advance(ACTIVE_SESSIONS_EVERY_MS);
    await m.sample();
    assert.equal(await active(), start + 2);

    assert.equal((await post(t.app, '/v1/auth/logout', {}, bearer(tokens.access_token))).statusCode, 204);
    t.clock.advance(ACTIVE_SESSIONS_EVERY_MS);
    await m.sample();
    assert.equal(await active(), start + 1);
    assert.equal(await metricValue(m, 'meridian_revoked_sessions'), t.services.revocations.size);
  });

  it('observes HTTP latency by route pattern, method and status', async () => {
    const moved = await deltas(
      t.services.metrics,
      {
        health: ['meridian_http_request_duration_seconds_count', { route: '/healthz', method: 'GET', status: '200' }],
        unmatched: ['meridian_http_request_duration_seconds_count', { route: 'unmatched', status: '404' }],
        login: ['meridian_http_request_duration_seconds_count', { route: '/v1/auth/login', method: 'POST', status: '400' }],
      },
      async () => {
        await t.app.inject({ url: '/healthz' });
        await t.app.inject({ url: '/no/such/path/123' });
        await post(t.app, '/v1/auth/login', { username: 'x' });
      },
    );
    assert.deepEqual(moved, { health: 1, unmatched: 1, login: 1 });
  });

  it('counts access-token verifications by outcome', async () => {
    const m = t.services.metrics;
    const outcome = (o: string): [string, Record<string, string>] => ['meridian_access_token_verifications_total', { outcome: o }];
    const tokens = await login(t.app, 'vera');
    const me = (headers: Record<string, string> = {}) => t.app.inject({ url: '/v1/auth/me', headers });
    const moved = await deltas(
      m,
      { valid: outcome('valid'), missing: outcome('missing'), invalid: outcome('invalid'), revoked: outcome('revoked'), expired: outcome('expired') },
      async () => {
        assert.equal((await me(bearer(tokens.access_token))).statusCode, 200);
        assert.equal((await me()).statusCode, 401);
        assert.equal((await me(bearer('not.a.jwt'))).statusCode, 401);
        const other = await login(t.app, 'vera');
        t.clock.advance(t.config.accessTokenTtl * 1000 + t.config.clockSkewSeconds * 1000 + 1000);
        assert.equal((await me(bearer(other.access_token))).statusCode, 401);
      },
    );
    assert.deepEqual(moved, { valid: 1, missing: 1, invalid: 1, revoked: 0, expired: 1 });

    const fresh = await login(t.app, 'vera');
    assert.equal((await post(t.app, '/v1/auth/logout', {}, bearer(fresh.access_token))).statusCode, 204);
    const revoked = await deltas(m, { n: outcome('revoked') }, () => me(bearer(fresh.access_token)));
    assert.deepEqual(revoked, { n: 1 });
  });

  it('a failing or hanging sampler does not break the scrape', async () => {
    const m = t.services.metrics;
    m.onScrape(() => {
      throw new Error('sampler down');
    });
    m.onScrape(() => new Promise<void>(() => {}));
    const res = await t.app.inject({ url: '/metrics' });
    assert.equal(res.statusCode, 200);
    assert.match(res.body, /meridian_db_pool_max_connections\{region="ap-south"\} 10/);
  });
});

for (const backend of BACKENDS) {
  describe(`pool gauges (${backend})`, () => {
    let t: TestApp;
    before(async () => {
      t = await createTestApp({ backend, env: { MERIDIAN_DB_POOL_SIZE: '1' } });
    });
    after(() => t.close());

    it('shows connections in use and callers waiting', async () => {
      const m = t.services.metrics;
      const gauges = async () => [
        await metricValue(m, 'meridian_db_pool_max_connections'),
        await metricValue(m, 'meridian_db_pool_connections_in_use'),
        await metricValue(m, 'meridian_db_pool_waiting_requests'),
      ];
      // The first sample counts the sessions; later ones (same clock) do not queue behind the held connection.
      await m.sample();
      let release!: () => void;
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      const tx = t.db.transaction(async (q) => {
        await q.query(SQL.ping);
        await held;
      });
      await eventually(() => t.db.poolStats().inUse === 1, 5000, 'the transaction holding a connection');
      const queued = t.db.query(SQL.ping);
      await eventually(() => t.db.poolStats().waiting === 1, 5000, 'a query waiting for a connection');
      await m.sample();
      assert.deepEqual(await gauges(), [1, 1, 1]);
      release();
      await Promise.all([tx, queued]);
      await m.sample();
      assert.deepEqual(await gauges(), [1, 0, 0]);
    });
  });
}
