/**
 * A successor minted by a replica is a valid token everywhere at once: at
 * the origin before the rotation has replicated there, at a region that
 * forwards to the origin, and while the replica's replication is stopped
 * (its link down). A token names its session and generation under a MAC, so
 * a region that has not heard of a rotation still recognises its successor.
 * When the link is back, the two histories merge with no revocation.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually, json, PASSWORD, post, register, type Tokens } from './helpers.js';
import { type RegionSet, startHub } from './regions-harness.js';

describe('a successor minted by a replica', () => {
  let set: RegionSet;
  const node = (id: string) => set.nodes[id]!;
  const app = (id: string) => node(id).t.app;
  const generationAt = async (id: string, sid: string) =>
    (await node(id).t.db.query<{ generation: number; revoked_at: Date | null }>('SELECT generation, revoked_at FROM sessions WHERE id = $1', [sid])).rows[0];
  const refreshAt = async (id: string, token: string) => {
    const res = await post(app(id), '/v1/auth/refresh', { refresh_token: token });
    assert.equal(res.statusCode, 200, `refresh at ${id}: ${res.body}`);
    return { tokens: json<Tokens>(res), servedBy: res.headers['x-meridian-region'] };
  };

  before(async () => {
    set = await startHub();
  });
  after(() => set.close());

  /** A session of us-east, replicated to eu-west; returns its tokens and id. */
  const replicatedSession = async (username: string) => {
    assert.equal((await register(app('us-east'), username)).statusCode, 201);
    const tokens = json<Tokens>(await post(app('us-east'), '/v1/auth/login', { username, password: PASSWORD }));
    const sid = tokens.refresh_token.split('.')[0]!;
    await eventually(async () => (await generationAt('eu-west', sid)) !== undefined, 10_000, 'session replicated to eu-west');
    return { tokens, sid };
  };

  it('refreshes at once at the origin and through a region that forwards there', async () => {
    for (let round = 0; round < 5; round++) {
      const { tokens } = await replicatedSession(`successor-${round}`);
      const atReplica = await refreshAt('eu-west', tokens.refresh_token);
      assert.equal(atReplica.servedBy, 'eu-west', 'decided from the replica');
      // At once: the rotation has not replicated to us-east yet (or just has); either way it is the live token.
      const atOrigin = await refreshAt('us-east', atReplica.tokens.refresh_token);
      const forwarded = await refreshAt('ap-southeast', atOrigin.tokens.refresh_token);
      assert.equal(forwarded.servedBy, 'us-east', 'ap-southeast holds no copy: the origin decided');
    }
  });

  it('refreshes at the origin while the replica cannot replicate, and the histories merge without a revocation', async () => {
    const { tokens, sid } = await replicatedSession('successor-cut');
    await node('eu-west').stopWorker();
    let current: Tokens;
    try {
      current = (await refreshAt('eu-west', tokens.refresh_token)).tokens;
      current = (await refreshAt('eu-west', current.refresh_token)).tokens;
      assert.equal((await generationAt('us-east', sid))?.generation, 0, 'us-east has heard of neither rotation');
      current = (await refreshAt('us-east', current.refresh_token)).tokens;
      current = (await refreshAt('ap-southeast', current.refresh_token)).tokens;
    } finally {
      await node('eu-west').startWorker();
    }
    // eu-west's rotations (generations 1 and 2) arrive at us-east, which is at 4: the highest stands.
    await eventually(async () => (await generationAt('eu-west', sid))?.generation === 4, 10_000, 'us-east rotations reached eu-west');
    for (const id of ['us-east', 'eu-west']) assert.deepEqual(await generationAt(id, sid), { generation: 4, revoked_at: null }, id);
    assert.equal((await refreshAt('eu-west', current.refresh_token)).servedBy, 'eu-west');
  });
});
