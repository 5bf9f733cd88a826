import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { bearer, createDatabase, createTestApp, json, login, post, type TestApp } from './helpers.js';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';

describe('database down', () => {
  let db: { url: string; drop: () => Promise<void> };
  let proxy: TcpProxy;
  let t: TestApp;

  before(async () => {
    db = await createDatabase();
    const target = new URL(db.url);
    proxy = await startTcpProxy(target.hostname, Number(target.port || 5432));
    target.port = String(proxy.port);
    t = await createTestApp({ databaseUrl: target.toString() });
  });
  after(async () => {
    await t.close();
    await proxy.close();
    await db.drop();
  });

  it('answers 503 temporarily_unavailable with Retry-After, never 500 or invalid_grant, and recovers', async () => {
    const tokens = await login(t.app, 'weathered');
    proxy.cut();
    const calls = [
      post(t.app, '/v1/auth/register', { username: 'during-outage', password: 'correct horse battery staple' }),
      post(t.app, '/v1/auth/login', { username: 'weathered', password: 'correct horse battery staple' }),
      post(t.app, '/v1/auth/refresh', { refresh_token: tokens.refresh_token }),
      post(t.app, '/v1/auth/logout', undefined, bearer(tokens.access_token)),
    ];
    for (const res of await Promise.all(calls)) {
      assert.equal(res.statusCode, 503, res.body);
      assert.equal(json(res).error, 'temporarily_unavailable');
      assert.ok(Number(res.headers['retry-after']) > 0);
    }
    const ready = await t.app.inject({ url: '/readyz' });
    assert.equal(ready.statusCode, 503);
    assert.equal(json<{ checks: Record<string, string> }>(ready).checks.database, 'down');
    assert.ok(ready.headers['retry-after']);
    // Verification needs no database: /me keeps working.
    assert.equal((await t.app.inject({ url: '/v1/auth/me', headers: bearer(tokens.access_token) })).statusCode, 200);
    assert.equal((await t.app.inject({ url: '/healthz' })).statusCode, 200);

    proxy.heal();
    const again = await post(t.app, '/v1/auth/refresh', { refresh_token: tokens.refresh_token });
    assert.equal(again.statusCode, 200, 'the token was not consumed by the failed attempt');
    assert.equal((await t.app.inject({ url: '/readyz' })).statusCode, 200);
  });
});
