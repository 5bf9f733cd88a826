/**
 * A token the origin has already consumed (a stolen one, replayed after the
 * grace window) presented at a region whose replica lags: it is "ahead" of
 * the replica, which therefore does not mint from it but asks the origin, so
 * the thief is not handed the victim's live refresh token (successors are
 * deterministic) and the replay is reuse.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually, json, PASSWORD, post, register, type Tokens } from './helpers.js';
import { type RegionSet, startRegions, syncKeys } from './regions-harness.js';

describe('a consumed token replayed at a lagging replica', () => {
  let set: RegionSet;
  const node = (id: string) => set.nodes[id]!;
  const app = (id: string) => node(id).t.app;
  const rowAt = async (id: string, sid: string) =>
    (await node(id).t.db.query<{ generation: number; revoked_at: Date | null }>('SELECT generation, revoked_at FROM sessions WHERE id = $1', [sid])).rows[0];

  before(async () => {
    set = await startRegions(
      [
        { id: 'eu-west', lat: 53.3, lon: -6.3 },
        { id: 'us-east', lat: 38.9, lon: -77.0 },
      ],
      { directory: 'eu-west', workers: true, env: { MERIDIAN_REFRESH_IDLE_TTL: '3600' } },
    );
    await syncKeys(set);
  });
  after(() => set.close());

  it("is refused as reuse (not rotated into the victim's live token)", async () => {
    assert.equal((await register(app('us-east'), 'lag-replay')).statusCode, 201);
    const t0 = json<Tokens>(await post(app('us-east'), '/v1/auth/login', { username: 'lag-replay', password: PASSWORD }));
    const sid = t0.refresh_token.split('.')[0]!;
    await eventually(async () => (await rowAt('eu-west', sid)) !== undefined, 10_000, 'session replicated to eu-west');
    // us-east's link is slow / down: its rotations wait in its outbox.
    await node('us-east').stopWorker();
    try {
      set.clock.advance(60_000);
      const t1 = json<Tokens>(await post(app('us-east'), '/v1/auth/refresh', { refresh_token: t0.refresh_token }));
      set.clock.advance(60_000);
      const t2 = json<Tokens>(await post(app('us-east'), '/v1/auth/refresh', { refresh_token: t1.refresh_token }));
      set.clock.advance(60_000);
      // t1 was consumed a minute ago at its origin. A thief replays it where the replica lags.
      const replay = await post(app('eu-west'), '/v1/auth/refresh', { refresh_token: t1.refresh_token });
      const body = replay.statusCode === 200 ? json<Tokens>(replay) : undefined;
      assert.notEqual(body?.refresh_token, t2.refresh_token, "the thief was handed the victim's live refresh token");
      assert.equal(replay.statusCode, 400, `consumed token accepted at the lagging region: ${replay.statusCode}`);
    } finally {
      await node('us-east').startWorker();
    }
  });
});
