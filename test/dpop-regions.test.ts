/**
 * A DPoP binding replicates with its family: a region holding a replica
 * refuses a bound token without its key exactly as the origin does, and a
 * binding made by a refresh in one region holds in the others.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually, json, PASSWORD, post, register, type TestApp, type Tokens } from './helpers.js';
import { DpopKey } from './dpop-keys.js';
import { type RegionSet, startChain } from './regions-harness.js';

describe('DPoP bindings across regions', () => {
  let set: RegionSet;
  const t = (id: string): TestApp => set.nodes[id]!.t;
  const refreshAt = (id: string, token: string, proof?: string) => post(t(id).app, '/v1/auth/refresh', { refresh_token: token }, proof ? { dpop: proof } : {});
  const pending = async (x: TestApp) =>
    Number(
      (await x.db.query<{ n: string }>('SELECT (SELECT count(*) FROM outbox WHERE sent_at IS NULL) + (SELECT count(*) FROM replication_queue) AS n')).rows[0]!
        .n,
    );
  const settled = () =>
    eventually(
      async () => {
        for (const id of ['a', 'b', 'c']) if ((await pending(t(id))) > 0) return false;
        return true;
      },
      15_000,
      'replication to settle',
    );
  const jktAt = async (id: string, token: string) => {
    const r = await t(id).db.query<{ dpop_jkt: string | null }>(
      // A refresh token names its session: its first part.
      'SELECT dpop_jkt FROM sessions WHERE id = $1',
      [token.split('.')[0]],
    );
    return r.rows[0]?.dpop_jkt;
  };

  before(async () => {
    set = await startChain();
    await register(t('a').app, 'roamer');
    await settled();
  });
  after(() => set.close());

  it('a session bound at a is refused without its key at b, from the replica, and rotates there with it', async () => {
    const key = new DpopKey(set.clock);
    const login = await post(t('a').app, '/v1/auth/login', { username: 'roamer', password: PASSWORD }, { dpop: key.proof('POST', '/v1/auth/login') });
    assert.equal(login.statusCode, 200, login.body);
    const tokens = json<Tokens>(login);
    await settled();
    for (const proof of [undefined, new DpopKey(set.clock).proof('POST', '/v1/auth/refresh')]) {
      const res = await refreshAt('b', tokens.refresh_token, proof);
      assert.equal(res.statusCode, 400, res.body);
      assert.equal(json(res).error, 'invalid_dpop_proof');
    }
    const atB = await refreshAt('b', tokens.refresh_token, key.proof('POST', '/v1/auth/refresh'));
    assert.equal(atB.statusCode, 200, atB.body);
    assert.equal(atB.headers['x-meridian-region'], 'b', 'rotated from the replica');
    assert.equal(json<Tokens>(atB).token_type, 'DPoP');
    await settled();
    const child = json<Tokens>(atB).refresh_token;
    assert.equal((await refreshAt('a', child)).statusCode, 400);
    assert.equal((await refreshAt('a', child, key.proof('POST', '/v1/auth/refresh'))).statusCode, 200);
  });

  it('a session bound by a refresh at b is bound at its origin too', async () => {
    const login = await post(t('a').app, '/v1/auth/login', { username: 'roamer', password: PASSWORD });
    const tokens = json<Tokens>(login);
    await settled();
    const key = new DpopKey(set.clock, 'EdDSA');
    const atB = await refreshAt('b', tokens.refresh_token, key.proof('POST', '/v1/auth/refresh'));
    assert.equal(atB.statusCode, 200, atB.body);
    await settled();
    const child = json<Tokens>(atB).refresh_token;
    assert.equal(await jktAt('a', child), key.jkt);
    const bare = await refreshAt('a', child);
    assert.equal(json(bare).error, 'invalid_dpop_proof');
  });

  it('a login and a refresh proxied from c (no replica there) bind and check at the origin, on the key c checked', async () => {
    const key = new DpopKey(set.clock);
    const login = await post(t('c').app, '/v1/auth/login', { username: 'roamer', password: PASSWORD }, { dpop: key.proof('POST', '/v1/auth/login') });
    assert.equal(login.statusCode, 200, login.body);
    assert.equal(login.headers['x-meridian-region'], 'a');
    const tokens = json<Tokens>(login);
    assert.equal(tokens.token_type, 'DPoP');
    assert.equal(await jktAt('a', tokens.refresh_token), key.jkt);
    const bare = await refreshAt('c', tokens.refresh_token);
    assert.equal(json(bare).error, 'invalid_dpop_proof');
    const other = await refreshAt('c', tokens.refresh_token, new DpopKey(set.clock).proof('POST', '/v1/auth/refresh'));
    assert.equal(json(other).error, 'invalid_dpop_proof');
    const proxied = await refreshAt('c', tokens.refresh_token, key.proof('POST', '/v1/auth/refresh'));
    assert.equal(proxied.statusCode, 200, proxied.body);
    assert.equal(proxied.headers['x-meridian-region'], 'a');
    assert.equal(json<Tokens>(proxied).token_type, 'DPoP');
    // Revoked from c too: without the key nothing ends, with it the origin ends the session.
    const next = json<Tokens>(proxied).refresh_token;
    assert.equal(json(await post(t('c').app, '/oauth/revoke', { token: next })).error, 'invalid_dpop_proof');
    const revoked = await post(t('c').app, '/oauth/revoke', { token: next }, { dpop: key.proof('POST', '/oauth/revoke') });
    assert.equal(revoked.statusCode, 200, revoked.body);
    assert.equal(json(await refreshAt('a', next, key.proof('POST', '/v1/auth/refresh'))).error, 'invalid_grant');
  });
});
