/** A REDIS_URL naming a unix socket (`unix:///path`): the service connects through it and serves from the cache. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createTestApp, json, login, metricValue, refresh, type TestApp, type Tokens } from './helpers.js';
import { type RedisServer, startRedisServer, testPrefix } from './redis-server.js';

describe('Redis over a unix socket', () => {
  const dir = mkdtempSync(join(tmpdir(), 'meridian-socket-'));
  const socket = join(dir, 'redis.sock');
  let redis: RedisServer;
  let t: TestApp;
  before(async () => {
    redis = await startRedisServer(['--unixsocket', socket, '--unixsocketperm', '700']);
    t = await createTestApp({ env: { REDIS_URL: `unix://${socket}`, MERIDIAN_REDIS_PREFIX: testPrefix('socket') } });
  });
  after(async () => {
    await t?.close();
    await redis?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is ready, and a refresh reads the session entry it wrote there', async () => {
    assert.equal(json<{ checks: { cache: string } }>(await t.app.inject({ url: '/readyz' })).checks.cache, 'ok');
    const tokens = await login(t.app, 'socket-user');
    const hits = await metricValue(t.services.metrics.cacheLookups, { result: 'hit' });
    json<Tokens>(await refresh(t.app, json<Tokens>(await refresh(t.app, tokens.refresh_token)).refresh_token));
    assert.ok((await metricValue(t.services.metrics.cacheLookups, { result: 'hit' })) > hits);
    assert.ok((await redis.client.dbsize()) > 0, 'the entries are in the Redis behind the socket');
  });
});
