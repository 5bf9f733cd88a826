import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { bearer, eventually, json, PASSWORD, post, register, type Tokens } from './helpers.js';
import { type RegionSet, startChain } from './regions-harness.js';

/** RFC 7009 at a region that does not hold the session: a 200 must still mean the token is dead. */
describe("revocation of another region's tokens", () => {
  let set: RegionSet;
  const app = (id: string) => set.nodes[id]!.t.app;
  before(async () => {
    set = await startChain();
  });
  after(() => set.close());

  const me = (id: string, token: string) => app(id).inject({ url: '/v1/auth/me', headers: bearer(token) });

  it('a refresh token revoked at c, which holds nothing of it, is dead at its origin', async () => {
    assert.equal((await register(app('a'), 'revokee-rt')).statusCode, 201);
    const tokens = json<Tokens>(await post(app('a'), '/v1/auth/login', { username: 'revokee-rt', password: PASSWORD }));
    assert.equal((await post(app('c'), '/oauth/revoke', { token: tokens.refresh_token })).statusCode, 200);
    assert.equal(json(await post(app('a'), '/v1/auth/refresh', { refresh_token: tokens.refresh_token })).error, 'invalid_grant');
    await eventually(async () => (await me('c', tokens.access_token)).statusCode === 401, 5000, 'access token refused at c');
  });

  it('an access token revoked at c is refused at c at once, and everywhere once its origin has ended the session', async () => {
    assert.equal((await register(app('a'), 'revokee-at')).statusCode, 201);
    const tokens = json<Tokens>(await post(app('a'), '/v1/auth/login', { username: 'revokee-at', password: PASSWORD }));
    assert.equal((await me('c', tokens.access_token)).statusCode, 200);
    assert.equal((await post(app('c'), '/oauth/revoke', { token: tokens.access_token })).statusCode, 200);
    assert.equal((await me('c', tokens.access_token)).statusCode, 401);
    assert.equal(json(await post(app('a'), '/v1/auth/refresh', { refresh_token: tokens.refresh_token })).error, 'invalid_grant');
    for (const id of ['a', 'b']) await eventually(async () => (await me(id, tokens.access_token)).statusCode === 401, 5000, `refused at ${id}`);
  });

  it('with the origin unreachable, revocation answers 503 rather than a 200 that ended nothing', async () => {
    assert.equal((await register(app('a'), 'revokee-down')).statusCode, 201);
    const tokens = json<Tokens>(await post(app('a'), '/v1/auth/login', { username: 'revokee-down', password: PASSWORD }));
    set.nodes.a!.proxy.cut();
    try {
      const res = await post(app('c'), '/oauth/revoke', { token: tokens.refresh_token });
      assert.equal(res.statusCode, 503);
      assert.ok(res.headers['retry-after']);
    } finally {
      set.nodes.a!.proxy.heal();
    }
  });
});
