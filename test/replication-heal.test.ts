/**
 * A link between regions cut long enough for the sender to reach its longest
 * retry pause, then healed: the revocation queued meanwhile reaches the
 * region behind it. How long that took after the heal is reported as a
 * diagnostic (the bound is 1 s; test/poll-loop.test.ts checks the pause
 * that decides it, on virtual time).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { bearer, eventually, json, logout, metricValue, PASSWORD, post, register, type Tokens } from './helpers.js';
import { type RegionSet, startHub } from './regions-harness.js';

describe('replication after a link heals', () => {
  let set: RegionSet;
  const node = (id: string) => set.nodes[id]!;
  const app = (id: string) => node(id).t.app;

  before(async () => {
    set = await startHub();
  });
  after(() => set.close());

  it('delivers a revocation queued during the cut to every region soon after the heal', async (ctx) => {
    assert.equal((await register(app('eu-west'), 'healed')).statusCode, 201);
    const tokens = json<Tokens>(await post(app('eu-west'), '/v1/auth/login', { username: 'healed', password: PASSWORD }));
    const sid = (await node('eu-west').t.db.query<{ id: string }>('SELECT id FROM sessions')).rows[0]!.id;
    for (const id of ['us-east', 'ap-southeast']) {
      await eventually(async () => (await node(id).t.db.query('SELECT 1 FROM sessions WHERE id = $1', [sid])).rows.length > 0, 10_000, `replica at ${id}`);
    }

    const cut = ['us-east', 'ap-southeast'];
    for (const id of cut) node(id).proxy.cut();
    assert.equal((await logout(app('eu-west'), tokens.access_token)).statusCode, 204);
    // Enough failed attempts for the sender's pause to have grown to its longest.
    const failed = (target: string) => metricValue(node('eu-west').t.services.metrics.regionCalls, { target, operation: 'replicate', outcome: 'unreachable' });
    for (const id of cut) await eventually(async () => (await failed(id)) >= 8, 30_000, `sender to ${id} failing for a while`);
    for (const id of cut)
      assert.equal((await app(id).inject({ url: '/v1/auth/me', headers: bearer(tokens.access_token) })).statusCode, 200, `${id} not told yet`);

    for (const id of cut) node(id).proxy.heal();
    const healedAt = performance.now();
    for (const id of cut) {
      await eventually(
        async () => (await app(id).inject({ url: '/v1/auth/me', headers: bearer(tokens.access_token) })).statusCode === 401,
        10_000,
        `revocation at ${id}`,
      );
      ctx.diagnostic(`revocation reached ${id} ${Math.round(performance.now() - healedAt)} ms after the heal (bound: 1000 ms)`);
      assert.equal(json(await post(app(id), '/v1/auth/refresh', { refresh_token: tokens.refresh_token })).error, 'invalid_grant');
    }
  });
});
