/**
 * Write-behind rotation (MERIDIAN_REFRESH_WRITES=write-behind) on a real
 * Redis and PostgreSQL: a refresh runs no PostgreSQL statement, the flush
 * writes rotations in batches merged by maximum, a logout is refused at once
 * while rotations are pending, and losing Redis (kill -9, a restart empty,
 * FLUSHALL) or the worker (kill -9) logs no client out, loses no revocation
 * and accepts a token twice only inside the unflushed window.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../src/config/load.js';
import { RotationFlush } from '../src/jobs/rotation-flush.js';
import { PgRotationSink } from '../src/storage/postgres/rotations.js';
import { ManualClock } from '../src/util/runtime.js';
import { bearer, createTestApp, eventually, json, login, logout, refresh, TEST_MASTER_KEY, type TestApp, type Tokens } from './helpers.js';
import { startRedisServer, testPrefix, type RedisServer } from './redis-server.js';
import { exited, startWorker } from './worker-process.js';

const sessionOf = (token: string) => token.split('.')[0]!;

describe('write-behind rotation', () => {
  let server: RedisServer;
  let t: TestApp;
  /** Another API process of the region: same database, same Redis. */
  let other: TestApp;
  let flush: RotationFlush;
  const clock = new ManualClock(Date.now());
  // A real clock, so that the grace window (0 here) means what it says under load.
  const ticking = setInterval(() => clock.set(Date.now()), 2);
  let env: Record<string, string>;

  before(async () => {
    server = await startRedisServer();
    env = { REDIS_URL: server.url, MERIDIAN_REDIS_PREFIX: testPrefix('wb'), MERIDIAN_REFRESH_WRITES: 'write-behind', MERIDIAN_REFRESH_GRACE_SECONDS: '0' };
    t = await createTestApp({ env, clock });
    other = await createTestApp({ env, clock, databaseUrl: t.config.databaseUrl });
    flush = new RotationFlush(t.services.shared.rotations!, t.services.storage.rotations, clock, t.services.metrics, t.services.logger);
  });
  after(async () => {
    clearInterval(ticking);
    await other.close();
    await t.close();
    await server.close();
  });

  const generationInDb = async (token: string) =>
    (await t.db.query<{ generation: number; revoked_at: Date | null }>('SELECT generation, revoked_at FROM sessions WHERE id = $1', [sessionOf(token)]))
      .rows[0]!;
  const pending = () => t.services.shared.rotations!.count();

  it('needs Redis', () => {
    assert.throws(() => loadConfig({ MERIDIAN_REFRESH_WRITES: 'write-behind', DATABASE_URL: 'memory://' }), /needs REDIS_URL/);
  });

  it('a refresh runs no PostgreSQL statement; one flush writes the newest generation in one statement', async () => {
    let tokens = await login(t.app, 'wb-plain');
    t.queries.clear();
    for (let i = 0; i < 3; i++) tokens = json<Tokens>(await refresh(t.app, tokens.refresh_token));
    assert.deepEqual(Object.fromEntries(t.queries), {}, 'no statement for three refreshes');
    assert.equal((await generationInDb(tokens.refresh_token)).generation, 0, 'PostgreSQL has not been told yet');
    assert.ok((await pending()) >= 1);
    t.queries.clear();
    assert.ok((await flush.flushOnce()) >= 1);
    assert.deepEqual(Object.fromEntries(t.queries), { update: 1 });
    assert.equal((await generationInDb(tokens.refresh_token)).generation, 3);
    assert.equal(await pending(), 0);
    // Flushed twice (a worker that died before it forgot the batch): nothing moves back.
    await t.services.storage.rotations.apply([{ sessionId: sessionOf(tokens.refresh_token), generation: 1, rotatedAt: clock.now() - 5000, token: '1:0' }]);
    assert.equal((await generationInDb(tokens.refresh_token)).generation, 3);
    assert.equal((await refresh(other.app, tokens.refresh_token)).statusCode, 200);
  });

  it('in a region topology each flushed rotation is an outbox event, dated at the rotation, for the other regions', async () => {
    const tokens = await login(t.app, 'wb-replicated');
    const sessionId = sessionOf(tokens.refresh_token);
    const rotatedAt = clock.now() - 50;
    const sink = new PgRotationSink(t.db, true, false);
    assert.equal((await sink.apply([{ sessionId, generation: 4, rotatedAt, token: `4:${rotatedAt}` }])).moved, 1);
    assert.equal((await sink.apply([{ sessionId, generation: 4, rotatedAt, token: `4:${rotatedAt}` }])).moved, 0, 'the same rotation again moves nothing');
    const { rows } = await t.db.query<{ kind: string; generation: number; created_at: Date }>(
      'SELECT kind, generation, created_at FROM outbox WHERE session_id = $1',
      [sessionId],
    );
    assert.deepEqual(rows, [{ kind: 'rotated', generation: 4, created_at: new Date(rotatedAt) }]);
  });

  it('a logout while rotations are pending is refused at once by every process, and the flush does not revive it', async () => {
    let tokens = await login(t.app, 'wb-logout');
    for (let i = 0; i < 2; i++) tokens = json<Tokens>(await refresh(t.app, tokens.refresh_token));
    assert.equal((await logout(other.app, tokens.access_token)).statusCode, 204);
    for (const app of [t.app, other.app]) assert.equal(json(await refresh(app, tokens.refresh_token)).error, 'invalid_grant');
    assert.equal((await other.app.inject({ url: '/v1/auth/me', headers: bearer(tokens.access_token) })).statusCode, 401);
    await flush.flushOnce();
    assert.notEqual((await generationInDb(tokens.refresh_token)).revoked_at, null);
    assert.equal(json(await refresh(t.app, tokens.refresh_token)).error, 'invalid_grant');
  });

  it('Redis killed, back empty, and flushed under a refresh load: no client logged out, no revocation lost, double acceptances only inside the unflushed window', async () => {
    flush.start();
    const clients = await Promise.all(Array.from({ length: 6 }, (_, i) => login(t.app, `wb-load-${i}`)));
    const ended: Tokens[] = [];
    /** When each refresh token was accepted, every time. */
    const accepted = new Map<string, number[]>();
    const losses: number[] = [];
    const failures: string[] = [];
    let running = true;
    const spend = async (app: TestApp['app'], token: string) => {
      const res = await refresh(app, token);
      if (res.statusCode === 200) accepted.set(token, [...(accepted.get(token) ?? []), Date.now()]);
      else if (res.statusCode >= 500 && !(res.statusCode === 503 && res.headers['retry-after'])) failures.push(`${res.statusCode} ${res.body}`);
      return res;
    };
    const client = async (tokens: Tokens, i: number) => {
      let current = tokens;
      while (running) {
        const res = await spend(i % 2 ? other.app : t.app, current.refresh_token);
        if (res.statusCode === 200) current = json<Tokens>(res);
        else if (res.statusCode < 500) failures.push(`client ${i} logged out: ${res.body}`);
      }
      return current;
    };
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const loads = clients.map(client);
    await sleep(600);
    for (const lose of [() => server.stop(), () => server.start(), () => server.client.flushall()]) {
      // A session ended before each loss stays ended through it.
      const victim = await login(t.app, `wb-ended-${losses.length}`);
      assert.equal((await logout(t.app, victim.access_token)).statusCode, 204);
      ended.push(victim);
      // Sessions that rotate twice just before the loss; after it, the token spent first is presented
      // again (a thief, or a lost response retried late) before its owner refreshes on.
      const replayed = await Promise.all(Array.from({ length: 4 }, (_, i) => login(t.app, `wb-replay-${losses.length}-${i}`)));
      await sleep(300);
      const spent = await Promise.all(
        replayed.map(async (tokens) => {
          const next = json<Tokens>(await spend(t.app, tokens.refresh_token));
          return { again: next.refresh_token, owner: json<Tokens>(await spend(t.app, next.refresh_token)) };
        }),
      );
      losses.push(Date.now());
      await lose();
      for (const { again, owner } of spent) {
        await spend(t.app, again);
        // Either the replay was taken as the continuation (it got the owner's own token), or it was reuse and ended the session.
        const res = await spend(t.app, owner.refresh_token);
        assert.ok(res.statusCode === 200 || json(res).error === 'invalid_grant', res.body);
      }
      await sleep(500);
    }
    running = false;
    const finals = await Promise.all(loads);
    await flush.stop();

    assert.deepEqual(failures, []);
    for (const [i, tokens] of finals.slice(0, clients.length).entries())
      assert.equal((await refresh(t.app, tokens.refresh_token)).statusCode, 200, `client ${i}`);
    for (const tokens of ended) assert.equal(json(await refresh(t.app, tokens.refresh_token)).error, 'invalid_grant');
    const twice = [...accepted].filter(([, at]) => at.length > 1);
    assert.ok(twice.length > 0, 'some replays fell inside the unflushed window');
    // A token accepted again was first spent in the window a loss of Redis could take with it: since the last flush.
    const WINDOW_MS = 1000;
    for (const [token, at] of twice) {
      assert.ok(
        losses.some((loss) => at[0]! <= loss && loss - at[0]! <= WINDOW_MS),
        `${sessionOf(token)} accepted at ${at.map((x) => x - losses[0]!)} ms (losses at ${losses.map((x) => x - losses[0]!)})`,
      );
    }
  });

  it('the worker killed mid-flush under load: every rotation reaches PostgreSQL, none is applied wrongly', async () => {
    const clients = await Promise.all(Array.from({ length: 4 }, (_, i) => login(t.app, `wb-worker-${i}`)));
    const workerEnv = {
      ...env,
      DATABASE_URL: t.config.databaseUrl!,
      MERIDIAN_WORKER_METRICS_PORT: '0',
      MERIDIAN_CLEANUP_INTERVAL: '86400',
      MERIDIAN_MASTER_KEY: TEST_MASTER_KEY.toString('base64url'),
    };
    let worker = startWorker(workerEnv);
    let running = true;
    const loads = clients.map(async (tokens) => {
      let current = tokens;
      while (running) {
        const res = await refresh(t.app, current.refresh_token);
        assert.equal(res.statusCode, 200, res.body);
        current = json<Tokens>(res);
      }
      return current;
    });
    await eventually(async () => (await t.db.query<{ n: number }>('SELECT max(generation)::int AS n FROM sessions')).rows[0]!.n > 0, 20_000, 'a first flush');
    worker.child.kill('SIGKILL');
    await exited(worker.child);
    await new Promise((r) => setTimeout(r, 300));
    worker = startWorker(workerEnv);
    await new Promise((r) => setTimeout(r, 500));
    running = false;
    const finals = await Promise.all(loads);
    try {
      await eventually(async () => (await pending()) === 0, 20_000, 'the new worker flushed everything');
      for (const tokens of finals) {
        const row = await generationInDb(tokens.refresh_token);
        assert.equal(row.generation, Number(tokens.refresh_token.split('.')[1]), 'PostgreSQL holds the last generation handed out');
        assert.equal(row.revoked_at, null);
      }
    } finally {
      worker.child.kill('SIGTERM');
      await exited(worker.child);
    }
  });
});
