/**
 * A token spent in one region and presented in another that has not heard
 * of the spend, with two regions whose replication is held back:
 * - replayed at a lagging replica, the token is "ahead" of the copy, which
 *   therefore does not mint from it but asks the origin, so the thief is not
 *   handed the victim's live refresh token (successors are deterministic)
 *   and the replay is reuse;
 * - spent on both sides of a partition, with one side rotating past it
 *   once, the two mintings still meet when the link heals (each region keeps
 *   when it minted the generation before its live one) and the family is
 *   revoked.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually, json, PASSWORD, post, register, type Tokens } from './helpers.js';
import { type RegionSet, startRegions, syncKeys } from './regions-harness.js';

describe('a token spent where another region has not heard of it', () => {
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

  /** A session of us-east, replicated to eu-west. */
  const replicatedLogin = async (username: string) => {
    assert.equal((await register(app('us-east'), username)).statusCode, 201);
    const t0 = json<Tokens>(await post(app('us-east'), '/v1/auth/login', { username, password: PASSWORD }));
    const sid = t0.refresh_token.split('.')[0]!;
    await eventually(async () => (await rowAt('eu-west', sid)) !== undefined, 10_000, 'session replicated to eu-west');
    return { t0, sid };
  };

  it("is refused as reuse (not rotated into the victim's live token)", async () => {
    const { t0 } = await replicatedLogin('lag-replay');
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

  it('is found when the partition heals, and the family revoked', async () => {
    const { t0, sid } = await replicatedLogin('spent-past');
    // A partition: neither region sends.
    await node('us-east').stopWorker();
    await node('eu-west').stopWorker();
    let t3: Tokens;
    try {
      set.clock.advance(60_000);
      // The thief's copy of t0, spent at eu-west; the victim spends t0 at us-east a minute later.
      assert.equal((await post(app('eu-west'), '/v1/auth/refresh', { refresh_token: t0.refresh_token })).statusCode, 200);
      set.clock.advance(60_000);
      const r1 = await post(app('us-east'), '/v1/auth/refresh', { refresh_token: t0.refresh_token });
      const t1 = json<Tokens>(r1);
      set.clock.advance(60_000);
      t3 = json<Tokens>(await post(app('us-east'), '/v1/auth/refresh', { refresh_token: t1.refresh_token }));
    } finally {
      await node('us-east').startWorker();
      await node('eu-west').startWorker();
    }
    await eventually(async () => (await rowAt('eu-west', sid))?.generation === 2, 10_000, 'us-east rotations reached eu-west');
    await eventually(async () => (await node('eu-west').t.db.query('SELECT 1 FROM replication_queue')).rows.length === 0, 10_000, 'eu-west sent');
    await eventually(async () => (await node('us-east').t.db.query('SELECT 1 FROM replication_queue')).rows.length === 0, 10_000, 'us-east sent');
    const revoked = (await rowAt('us-east', sid))?.revoked_at ?? (await rowAt('eu-west', sid))?.revoked_at;
    assert.notEqual(revoked, null, 'generation 1 was minted in both regions a minute apart: a double spend, yet the family lives');
    void t3;
  });
});
