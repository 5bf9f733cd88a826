/**
 * "Log out everywhere" sent to a region that is not the user's home: the
 * home region ends the sessions, and the region that answered must refuse
 * every one of them at once, including the replicas it serves refreshes
 * from, without waiting for the home region's revocations to replicate.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { bearer, eventually, json, logout, PASSWORD, post, register, type Tokens } from './helpers.js';
import { type RegionSet, startHub } from './regions-harness.js';

describe('logout of every session forwarded to the home region', () => {
  let set: RegionSet;
  const node = (id: string) => set.nodes[id]!;
  const app = (id: string) => node(id).t.app;
  const holds = async (id: string, table: 'sessions' | 'users', key: string) =>
    (await node(id).t.db.query(`SELECT 1 FROM ${table} WHERE ${table === 'users' ? 'username' : 'id'} = $1`, [key])).rows.length > 0;
  const sessionOf = async (region: string, username: string) =>
    (
      await node(region).t.db.query<{ id: string }>('SELECT s.id FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.username = $1 AND s.region = $2', [
        username,
        region,
      ])
    ).rows.map((r) => r.id);

  before(async () => {
    set = await startHub();
  });
  after(() => set.close());

  it('leaves no replica alive in the region that answered 204', async () => {
    assert.equal((await register(app('eu-west'), 'everywhere')).statusCode, 201);
    await eventually(() => holds('ap-southeast', 'users', 'everywhere'), 10_000, 'the user replicated to ap-southeast');
    const login = async (id: string) => json<Tokens>(await post(app(id), '/v1/auth/login', { username: 'everywhere', password: PASSWORD }));
    // Two sessions of the home region, and one that ap-southeast started from its copy of the user.
    const [home1, home2, local] = [await login('eu-west'), await login('eu-west'), await login('ap-southeast')];
    const ids = [...(await sessionOf('eu-west', 'everywhere')), ...(await sessionOf('ap-southeast', 'everywhere'))];
    assert.equal(ids.length, 3);
    for (const sid of ids) {
      await eventually(() => holds('ap-southeast', 'sessions', sid), 10_000, `session ${sid} at ap-southeast`);
      await eventually(() => holds('eu-west', 'sessions', sid), 10_000, `session ${sid} at eu-west`);
    }
    // From now on nothing eu-west ends reaches ap-southeast by replication.
    await node('eu-west').stopWorker();

    assert.equal((await logout(app('ap-southeast'), home1.access_token, { all_sessions: true })).statusCode, 204);
    for (const [name, tokens] of Object.entries({ home1, home2, local })) {
      const res = await post(app('ap-southeast'), '/v1/auth/refresh', { refresh_token: tokens.refresh_token });
      assert.equal(res.statusCode, 400, `${name}: refresh at ap-southeast refused`);
      assert.equal(json(res).error, 'invalid_grant');
      assert.equal(
        (await app('ap-southeast').inject({ url: '/v1/auth/me', headers: bearer(tokens.access_token) })).statusCode,
        401,
        `${name}: access token refused`,
      );
    }
    // The home region ended them too.
    for (const tokens of [home1, home2])
      assert.equal(json(await post(app('eu-west'), '/v1/auth/refresh', { refresh_token: tokens.refresh_token })).error, 'invalid_grant');
  });

  it('ends a session the home region had not heard of yet: at once where the logout was answered, and everywhere once the mark arrives', async () => {
    await node('eu-west').startWorker(); // stopped by the case before
    assert.equal((await register(app('eu-west'), 'unheard-of')).statusCode, 201);
    await eventually(() => holds('ap-southeast', 'users', 'unheard-of'), 10_000, 'the user replicated to ap-southeast');
    // A session ap-southeast starts while it tells no one (its worker stopped): eu-west, the home, does not know it.
    await node('ap-southeast').stopWorker();
    let unheard: Tokens;
    try {
      unheard = json<Tokens>(await post(app('ap-southeast'), '/v1/auth/login', { username: 'unheard-of', password: PASSWORD }));
      const home = json<Tokens>(await post(app('eu-west'), '/v1/auth/login', { username: 'unheard-of', password: PASSWORD }));
      assert.equal((await logout(app('eu-west'), home.access_token, { all_sessions: true })).statusCode, 204);
      // The region that answered refuses it at once, although only ap-southeast holds it.
      const atHome = await post(app('eu-west'), '/v1/auth/refresh', { refresh_token: unheard.refresh_token });
      assert.equal(json(atHome).error, 'invalid_grant', atHome.body);
    } finally {
      await node('ap-southeast').startWorker();
    }
    // The mark reaches ap-southeast, which ends its own session; nothing revives it after.
    await eventually(
      async () => json(await post(app('ap-southeast'), '/v1/auth/refresh', { refresh_token: unheard.refresh_token })).error === 'invalid_grant',
      10_000,
      'ended at ap-southeast',
    );
    await eventually(
      async () => (await app('ap-southeast').inject({ url: '/v1/auth/me', headers: bearer(unheard.access_token) })).statusCode === 401,
      10_000,
      'its access token refused at ap-southeast',
    );
    for (const id of ['eu-west', 'us-east', 'ap-southeast'])
      assert.equal(json(await post(app(id), '/v1/auth/refresh', { refresh_token: unheard.refresh_token })).error, 'invalid_grant', id);
  });
});
