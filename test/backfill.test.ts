import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { backfill } from '../src/regions/backfill.js';
import { eventually, json, metricValue, PASSWORD, post, register, type Tokens } from './helpers.js';
import { type RegionSet, startChain } from './regions-harness.js';

/** A region added to the topology holds nothing of the past; a backfill from its peers gives it replicas. */
describe('backfill of a region added later', () => {
  let set: RegionSet;
  const node = (id: string) => set.nodes[id]!;
  before(async () => {
    set = await startChain();
  });
  after(() => set.close());

  const pending = async (id: string) => Number((await node(id).t.db.query<{ n: string }>('SELECT count(*) AS n FROM replication_queue')).rows[0]!.n);

  it('queues users, live families and recent revocations for the target; the target then serves them locally', async () => {
    assert.equal((await register(node('a').t.app, 'old-timer')).statusCode, 201);
    const live = json<Tokens>(await post(node('a').t.app, '/v1/auth/login', { username: 'old-timer', password: PASSWORD }));
    await eventually(async () => (await pending('a')) === 0, 15_000, 'replication settled');
    // b "joins now": it has none of a's past.
    const b = node('b').t.db;
    await b.query("DELETE FROM refresh_tokens WHERE region = 'a'");
    await b.query("DELETE FROM sessions WHERE region = 'a'");
    await b.query("DELETE FROM users WHERE home_region = 'a'");

    const t = node('a').t;
    const result = await backfill(t.services.storage.replication, {
      self: 'a',
      target: 'b',
      topology: t.services.regions!.topology,
      now: set.clock.now(),
      accessLifetimeMs: 660_000,
    });
    assert.deepEqual(result, { users: 1, families: 1, revocations: 0 });
    await eventually(async () => (await pending('a')) === 0, 15_000, 'backfill delivered');

    const calls = await metricValue(node('b').t.services.metrics.regionCalls, { target: 'a', operation: 'refresh' });
    const res = await post(node('b').t.app, '/v1/auth/refresh', { refresh_token: live.refresh_token });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.headers['x-meridian-region'], 'b', 'rotated from the backfilled replica');
    assert.equal(await metricValue(node('b').t.services.metrics.regionCalls, { target: 'a', operation: 'refresh' }), calls, 'no call to a');
    assert.equal((await post(node('b').t.app, '/v1/auth/login', { username: 'old-timer', password: PASSWORD })).headers['x-meridian-region'], 'b');

    // Twice is harmless, and a target outside the topology is refused.
    await backfill(t.services.storage.replication, {
      self: 'a',
      target: 'b',
      topology: t.services.regions!.topology,
      now: set.clock.now(),
      accessLifetimeMs: 660_000,
    });
    await eventually(async () => (await pending('a')) === 0, 15_000, 'second backfill delivered');
    await assert.rejects(
      backfill(t.services.storage.replication, {
        self: 'a',
        target: 'z',
        topology: t.services.regions!.topology,
        now: set.clock.now(),
        accessLifetimeMs: 660_000,
      }),
      /not another region/,
    );
  });
});
