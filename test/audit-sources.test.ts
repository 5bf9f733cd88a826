/**
 * The audit events that background paths report, produced by those paths:
 * cache.lookup by the refresh path reading a real Redis (hit, miss, and the
 * error that falls back to PostgreSQL), replication.applied by a region
 * applying what another region's worker sent it. Each is checked as a log
 * line and in the metrics it drives.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { claimsOf, createTestApp, eventually, json, login, logout, refresh, type TestApp, type Tokens } from './helpers.js';
import { type AuditLine, auditLines, deltas } from './metric-helpers.js';
import { startRedisServer, testPrefix, type RedisServer } from './redis-server.js';
import { type RegionSet, startRegions } from './regions-harness.js';

/** The lines of `event` logged while `act` ran. */
async function linesDuring(t: TestApp, event: string, act: () => Promise<unknown>): Promise<AuditLine[]> {
  const from = t.logs.length;
  await act();
  return auditLines(t.logs.slice(from), event);
}

describe('audit: cache.lookup from the refresh path on a real Redis', () => {
  let server: RedisServer;
  let t: TestApp;
  before(async () => {
    server = await startRedisServer();
    t = await createTestApp({ env: { MERIDIAN_REGION: 'eu-west', REDIS_URL: server.url, MERIDIAN_REDIS_PREFIX: testPrefix('audit-cache') } });
  });
  after(async () => {
    await t.close();
    await server.close();
  });

  const series = {
    hit: ['meridian_cache_lookups_total', { operation: 'refresh_state', result: 'hit' }],
    miss: ['meridian_cache_lookups_total', { operation: 'refresh_state', result: 'miss' }],
    error: ['meridian_cache_lookups_total', { operation: 'refresh_state', result: 'error' }],
    fallback: ['meridian_cache_fallbacks_total', { operation: 'refresh_state' }],
  } satisfies Record<string, [string, Record<string, string>]>;
  const fields = (l: AuditLine) => [l.level, l.region, l.operation, l.result, l.outcome, l.session_id, l.request_id];

  it('a miss, then a hit, then an error that PostgreSQL answers: each a debug line, counted once', async () => {
    const tokens = await login(t.app, 'cached-alice');
    const { sid } = claimsOf(tokens.access_token);
    let next = tokens;
    const step = async (want: keyof typeof series) => {
      let lines: AuditLine[] = [];
      const moved = await deltas(t.services.metrics, series, async () => {
        lines = await linesDuring(t, 'cache.lookup', async () => {
          const res = await refresh(t.app, next.refresh_token);
          assert.equal(res.statusCode, 200, res.body);
          next = json<Tokens>(res);
        });
      });
      const expected = { hit: 0, miss: 0, error: 0, fallback: 0, [want]: 1, ...(want === 'error' ? { fallback: 1 } : {}) };
      assert.deepEqual(moved, expected, want);
      return lines.filter((l) => l.operation === 'refresh_state');
    };

    // An empty cache: the lookup misses, PostgreSQL answers and fills the cache.
    await server.client.flushall();
    assert.deepEqual((await step('miss')).map(fields), [[20, 'eu-west', 'refresh_state', 'miss', 'success', null, null]]);
    // The rotation wrote its successor through to the cache.
    assert.deepEqual((await step('hit')).map(fields), [[20, 'eu-west', 'refresh_state', 'hit', 'success', sid, null]]);
    await server.stop();
    assert.deepEqual((await step('error')).map(fields), [[20, 'eu-west', 'refresh_state', 'error', 'failure', null, null]]);
  });
});

describe("audit: replication.applied from a peer region's worker", () => {
  let set: RegionSet;
  before(async () => {
    set = await startRegions(
      [
        { id: 'eu-west', lat: 53.3, lon: -6.3 },
        { id: 'us-east', lat: 38.9, lon: -77.0 },
      ],
      { directory: 'eu-west', workers: true },
    );
  });
  after(() => set.close());

  it('a rotation and a revocation sent from eu-west are applied in us-east with their lag, as lines and metrics', async () => {
    const eu = set.nodes['eu-west']!;
    const us = set.nodes['us-east']!.t;
    const tokens = await login(eu.t.app, 'travelling-bob');
    const { sid } = claimsOf(tokens.access_token);
    const applied = (kind: string) => auditLines(us.logs, 'replication.applied').filter((l) => l.session_id === sid && l.kind === kind);
    await eventually(() => applied('session').length === 1, 10_000, 'the login applied in us-east');

    // Held in eu-west's outbox while the clock moves on, so each event arrives with a known age.
    await eu.stopWorker();
    const rotated = json<Tokens>(await refresh(eu.t.app, tokens.refresh_token));
    set.clock.advance(2000);
    assert.equal((await logout(eu.t.app, rotated.access_token)).statusCode, 204);
    set.clock.advance(1500);
    const moved = await deltas(
      us.services.metrics,
      {
        rotation: ['meridian_replication_events_applied_total', { peer: 'eu-west', kind: 'rotation' }],
        revocation: ['meridian_replication_events_applied_total', { peer: 'eu-west', kind: 'revocation' }],
        lagCount: ['meridian_replication_lag_seconds_count', { peer: 'eu-west' }],
        lagSum: ['meridian_replication_lag_seconds_sum', { peer: 'eu-west' }],
        propagation: ['meridian_revocation_propagation_seconds_count', { peer: 'eu-west' }],
        propagationSum: ['meridian_revocation_propagation_seconds_sum', { peer: 'eu-west' }],
      },
      async () => {
        await eu.startWorker();
        await eventually(() => applied('revocation').length === 1, 10_000, 'the logout applied in us-east');
      },
    );
    assert.deepEqual(moved, { rotation: 1, revocation: 1, lagCount: 2, lagSum: 3.5 + 1.5, propagation: 1, propagationSum: 1.5 });
    const lines = [...applied('rotation'), ...applied('revocation')];
    assert.deepEqual(
      lines.map((l) => [l.level, l.region, l.peer, l.kind, l.lag_seconds, l.outcome, l.session_id, l.request_id]),
      [
        [30, 'us-east', 'eu-west', 'rotation', 3.5, 'success', sid, null],
        [30, 'us-east', 'eu-west', 'revocation', 1.5, 'success', sid, null],
      ],
    );
    assert.ok(lines.every((l) => typeof l.user_id === 'string'));
  });
});
