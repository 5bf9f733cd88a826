/**
 * A region whose Redis is down still replicates: its logouts are enforced in
 * the other regions and its logins reach its peers, with the worker that was
 * running when Redis went away and with a `meridian worker` started while it
 * is away. eu-west has a redis-server of its own, stopped by the test.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, before, describe, it, type TestContext } from 'node:test';
import { bearer, eventually, json, logout, PASSWORD, post, register, type Tokens } from './helpers.js';
import { type RedisServer, startRedisServer } from './redis-server.js';
import { type RegionSet, startHub } from './regions-harness.js';
import { exited, startWorker } from './worker-process.js';

const OTHERS = ['us-east', 'ap-southeast'];

describe('replication from a region whose Redis is down', () => {
  let redis: RedisServer;
  let set: RegionSet;
  let worker: ChildProcess | undefined;
  const node = (id: string) => set.nodes[id]!;
  const app = (id: string) => node(id).t.app;
  const login = async () => json<Tokens>(await post(app('eu-west'), '/v1/auth/login', { username: 'outage', password: PASSWORD }));
  const newestSession = async () =>
    (await node('eu-west').t.db.query<{ id: string }>('SELECT id FROM sessions ORDER BY created_at DESC, id DESC LIMIT 1')).rows[0]!.id;
  const replicated = async (sid: string) => {
    for (const id of OTHERS)
      await eventually(
        async () => (await node(id).t.db.query('SELECT 1 FROM sessions WHERE id = $1', [sid])).rows.length > 0,
        10_000,
        `session replicated to ${id}`,
      );
  };
  /** Logs the session out at eu-west and waits, within a liveness bound, until both other regions refuse it. */
  const logoutEnforcedElsewhere = async (ctx: TestContext, tokens: Tokens, what: string) => {
    assert.equal((await logout(app('eu-west'), tokens.access_token)).statusCode, 204);
    const start = performance.now();
    for (const id of OTHERS) {
      await eventually(
        async () => (await app(id).inject({ url: '/v1/auth/me', headers: bearer(tokens.access_token) })).statusCode === 401,
        10_000,
        `${what}: access token refused at ${id}`,
      );
      ctx.diagnostic(`${what}: logout enforced at ${id} after ${Math.round(performance.now() - start)} ms`);
      assert.equal(
        json(await post(app(id), '/v1/auth/refresh', { refresh_token: tokens.refresh_token })).error,
        'invalid_grant',
        `${what}: refresh refused at ${id}`,
      );
    }
  };

  before(async () => {
    redis = await startRedisServer();
    set = await startHub({ regionEnv: { 'eu-west': { REDIS_URL: redis.url } } });
    assert.equal((await register(app('eu-west'), 'outage')).statusCode, 201);
  });
  after(async () => {
    if (worker?.exitCode === null) worker.kill('SIGKILL');
    await set.close();
    await redis.close();
  });

  it('with the worker that was running when Redis stopped', async (ctx) => {
    const earlier = await login();
    await replicated(await newestSession());
    await redis.stop();
    await logoutEnforcedElsewhere(ctx, earlier, 'a session from before the outage');

    const during = await login();
    await replicated(await newestSession());
    await logoutEnforcedElsewhere(ctx, during, 'a session made during the outage');
  });

  // A liveness bound: without it a worker tier that cannot stop while Redis is down would hang the file.
  it('with a `meridian worker` started while Redis is down', { timeout: 60_000 }, async (ctx) => {
    // The tier that was running stops without Redis, then a worker process takes over.
    await node('eu-west').stopWorker();
    const { config } = node('eu-west').t;
    const child = startWorker({
      DATABASE_URL: config.databaseUrl!,
      REDIS_URL: redis.url,
      MERIDIAN_REDIS_PREFIX: config.redisPrefix,
      MERIDIAN_REGION: 'eu-west',
      MERIDIAN_REGIONS_FILE: set.topologyFile,
      MERIDIAN_REGION_SECRET: set.secret,
      MERIDIAN_REGION_TIMEOUT_MS: '1500',
      MERIDIAN_MASTER_KEY: Buffer.alloc(32, 7).toString('base64url'),
      MERIDIAN_WORKER_METRICS_PORT: '0',
      LOG_LEVEL: 'info',
    });
    worker = child.child;
    await eventually(() => child.output.join('').includes('worker started'), 20_000, 'worker started');

    const tokens = await login();
    await replicated(await newestSession());
    await logoutEnforcedElsewhere(ctx, tokens, 'with a worker started during the outage');
    child.child.kill('SIGTERM');
    assert.equal(await exited(child.child), 0, child.output.join('').slice(-2000));
  });
});
