/**
 * The transactional outbox and the worker tier's cache sync, on BullMQ and
 * on the in-process queue: the same tests for both.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { SyncEvent } from '../src/jobs/cache-sync.js';
import { OutboxRelay } from '../src/jobs/outbox-relay.js';
import { startWorkerTier, type WorkerTier } from '../src/jobs/worker-tier.js';
import { PgSessionStore } from '../src/storage/postgres/repositories.js';
import { createTestApp, eventually, json, login, logout, post, refresh, type TestApp, type Tokens, tierDeps } from './helpers.js';
import { startRedisServer, testPrefix, type RedisServer } from './redis-server.js';

const KINDS = ['bullmq', 'memory'] as const;

interface OutboxRow {
  id: string;
  kind: string;
  session_id: string;
  generation: number;
  token_hashes: string[];
  sent_at: Date | null;
}

let server: RedisServer;
before(async () => {
  server = await startRedisServer();
});
after(() => server.close());

for (const kind of KINDS) {
  describe(`outbox and cache sync (${kind})`, () => {
    let t: TestApp;
    /** Another server sharing the database but not the cache: only the worker tier tells the cache of its changes. */
    let other: TestApp;
    let tier: WorkerTier;

    const outbox = async (sessionId?: string) =>
      (
        await t.db.query<OutboxRow>(
          `SELECT id::text AS id, kind, session_id, generation, token_hashes, sent_at FROM outbox ${sessionId ? 'WHERE session_id = $1' : ''} ORDER BY id`,
          sessionId ? [sessionId] : [],
        )
      ).rows;
    /** A refresh token names its session: the first part of it is the session id. */
    const sessionOf = (refreshToken: string) => refreshToken.split('.')[0]!;
    const cached = (refreshToken: string) => t.services.shared.cache.lookup(sessionOf(refreshToken));
    const idle = () =>
      eventually(
        async () => {
          const c = await tier.sync.counts();
          return c.waiting + c.active + c.delayed === 0;
        },
        10_000,
        'sync queue drained',
      );
    /**
     * The worker tier has handled every change made so far: a session logged out now by `other`
     * (which only the sync tells the cache of) shows as revoked in the cache. Rows are synced in
     * order, so anything the worker would have done with earlier changes is done too.
     */
    const caughtUp = async () => {
      const marker = await login(t.app, `marker-${kind}`);
      assert.equal((await logout(other.app, marker.access_token)).statusCode, 204);
      await eventually(async () => (await cached(marker.refresh_token))?.revokedAt != null, 10_000, 'a later revocation synced');
    };

    before(async () => {
      const env: Record<string, string> = kind === 'bullmq' ? { REDIS_URL: server.url, MERIDIAN_REDIS_PREFIX: testPrefix('outbox') } : {};
      t = await createTestApp({ env });
      other = await createTestApp({ databaseUrl: t.config.databaseUrl, clock: t.clock });
      tier = await startWorkerTier(tierDeps(t));
    });
    after(async () => {
      await tier.close();
      await other.close();
      await t.close();
    });

    it('a region on its own writes an outbox row for a revocation only, in the same statement', async () => {
      const tokens = await login(other.app, `events-${kind}`);
      const sid = sessionOf(tokens.refresh_token);
      const rotated = json<Tokens>(await refresh(other.app, tokens.refresh_token));
      assert.deepEqual(await outbox(sid), []);
      assert.equal((await logout(other.app, rotated.access_token)).statusCode, 204);
      assert.deepEqual(
        (await outbox(sid)).map((r) => [r.kind, r.generation, r.token_hashes.length]),
        [['revoked', 1, 0]],
      );
    });

    it('in a topology every change writes exactly one row; a lost rotation writes none', async () => {
      const tokens = await login(other.app, `topology-${kind}`);
      const state = (await new PgSessionStore(t.db).findSession(sessionOf(tokens.refresh_token)))!;
      const store = new PgSessionStore(t.db, { replicate: true });
      // A second family, started by the replicating store, and three racing rotations of its first generation.
      const sid = `${state.sessionId}-b`;
      const now = t.clock.now();
      await store.create({
        id: sid,
        userId: state.userId,
        region: 'local',
        now,
        expiresAt: now + 86_400_000,
        checkedPasswordHash: (await t.db.query<{ h: string }>('SELECT password_hash AS h FROM users WHERE id = $1', [state.userId])).rows[0]!.h,
      });
      const from = (await store.findSession(sid))!;
      const won = await Promise.all([1, 2, 3].map(() => store.rotate({ from, generation: 1, now })));
      assert.equal(won.filter(Boolean).length, 1);
      assert.ok(await store.revoke(sid, state.userId, now, 'logout'));
      assert.deepEqual(
        (await outbox(sid)).map((r) => [r.kind, r.generation, r.token_hashes.length]),
        [
          ['created', 0, 0],
          ['rotated', 1, 0],
          ['revoked', 1, 0],
        ],
      );
    });

    it('relays every row and marks it sent; the revocation sync brings a stale cache up to date', async () => {
      const tokens = await login(t.app, `sync-${kind}`);
      assert.equal((await cached(tokens.refresh_token))?.revokedAt, null);
      // `other` does not share this cache: only the worker tier tells it of the logout.
      assert.equal((await logout(other.app, tokens.access_token)).statusCode, 204);
      await eventually(async () => (await cached(tokens.refresh_token))?.revokedAt != null, 10_000, 'revocation synced');
      await eventually(async () => (await outbox()).every((r) => r.sent_at !== null), 10_000, 'all rows sent');
    });

    it('a rotation the cache never heard of is still decided right: the child refreshes, the parent is a reuse', async () => {
      const tokens = await login(t.app, `stale-${kind}`);
      const rotated = json<Tokens>(await refresh(other.app, tokens.refresh_token));
      await caughtUp();
      // The cache still holds the session at the parent's generation: it never heard of the child.
      assert.equal((await cached(tokens.refresh_token))?.generation, 0);
      // Inside the grace window, the parent again gets the same successor.
      assert.equal(json<Tokens>(await refresh(t.app, tokens.refresh_token)).refresh_token, rotated.refresh_token);
      const next = json<Tokens>(await refresh(t.app, rotated.refresh_token));
      assert.ok(next.refresh_token);
      t.clock.advance(t.config.refreshGraceSeconds * 1000 + 1);
      // After it, the parent is a reuse, whatever the cache said: the whole family is revoked.
      assert.equal(json(await refresh(t.app, tokens.refresh_token)).error, 'invalid_grant');
      assert.equal(json(await refresh(t.app, next.refresh_token)).error, 'invalid_grant');
    });

    it('duplicate and out-of-order delivery leave the cache as delivery once in order would', async () => {
      // Logged in here (the cache holds the tokens), logged out by `other` (only the sync tells the cache).
      const sessions = await Promise.all([1, 2, 3].map(() => login(t.app, `replay-${kind}`)));
      assert.equal((await logout(other.app, sessions[0]!.access_token, { all_sessions: true })).statusCode, 204);
      // Delivered once in order first, so the replay below comes after it.
      for (const s of sessions) await eventually(async () => (await cached(s.refresh_token))?.revokedAt != null, 10_000, 'revocations synced');
      const sids = sessions.map((s) => sessionOf(s.refresh_token));
      const rows = (await Promise.all(sids.map((sid) => outbox(sid)))).flat();
      assert.equal(rows.length, 3);
      const events = rows.map((r): SyncEvent => ({ outboxId: r.id, sessionId: r.session_id, generation: r.generation }));
      // Forget what the in-order delivery wrote, then deliver newest first, every event twice.
      for (const sid of sids) {
        if (kind === 'bullmq') await server.client.del(t.services.shared.keys.family(sid));
        else t.services.shared.memory!.evict(t.services.shared.keys.family(sid));
      }
      const replay = [...events].reverse().flatMap((e) => [1, 2].map((n) => ({ name: 'cache-sync', id: `replay-${e.outboxId}-${n}`, data: e })));
      await tier.sync.add(replay);
      await idle();
      const db = new PgSessionStore(t.db);
      for (const s of sessions) {
        const state = await cached(s.refresh_token);
        assert.ok(state?.revokedAt);
        assert.deepEqual({ ...state, source: 'db' }, await db.findSession(sessionOf(s.refresh_token)));
      }
    });

    it('the same outbox row relayed twice is harmless', async () => {
      const [gone, live] = [await login(t.app, `twice-${kind}`), await login(t.app, `twice-${kind}`)];
      assert.equal((await logout(other.app, gone.access_token)).statusCode, 204);
      const sid = sessionOf(gone.refresh_token);
      const done = async () =>
        (await t.db.query<{ n: string }>('SELECT count(*) AS n FROM outbox WHERE session_id = $1 AND sent_at IS NOT NULL AND synced_at IS NOT NULL', [sid]))
          .rows[0]!.n === '1';
      await eventually(done, 10_000, 'relayed once');
      await t.db.query('UPDATE outbox SET sent_at = NULL, synced_at = NULL WHERE session_id = $1', [sid]);
      // This relay and the tier's may both take the row again; either way it ends sent and synced, and nothing breaks.
      const relay = new OutboxRelay(t.services.storage.perShard[0]!.outbox, tier.sync, t.clock, t.services.logger);
      await relay.runOnce();
      await eventually(done, 10_000, 'relayed again');
      await idle();
      assert.equal((await tier.sync.counts()).failed, 0);
      const state = await cached(gone.refresh_token);
      assert.deepEqual({ ...state, source: 'db' }, await new PgSessionStore(t.db).findSession(sid));
      assert.ok(state?.revokedAt);
      assert.equal((await refresh(t.app, live.refresh_token)).statusCode, 200);
    });
  });
}

describe('outbox relay with Redis down', () => {
  it('keeps revocations unsynced while it cannot enqueue, and queues them all once Redis is back', async () => {
    const own = await startRedisServer();
    const t = await createTestApp({ env: { REDIS_URL: own.url, MERIDIAN_REDIS_PREFIX: testPrefix('relay-down') } });
    const tier = await startWorkerTier(tierDeps(t));
    try {
      await own.stop();
      const sessions = [await login(t.app, 'relay-down'), await login(t.app, 'relay-down')];
      for (const s of sessions) assert.equal((await logout(t.app, s.access_token)).statusCode, 204);
      const count = async (where: string) => Number((await t.db.query<{ n: string }>(`SELECT count(*) AS n FROM outbox WHERE ${where}`)).rows[0]!.n);
      // The fan-out (PostgreSQL alone) goes on; the cache sync waits for Redis.
      await eventually(async () => (await count('sent_at IS NULL')) === 0, 15_000, 'fanned out with Redis down');
      assert.equal(await count('synced_at IS NULL'), 2);
      // Read now: once synced, the rows are the cleanup's, which runs as soon as its schedule is back.
      const ids = (await t.db.query<{ id: string }>('SELECT id::text AS id FROM outbox ORDER BY id')).rows.map((r) => `outbox-${r.id}`);
      await own.start();
      await eventually(async () => (await count('synced_at IS NULL')) === 0, 15_000, 'synced after Redis came back');
      const queued = await Promise.all(ids.map(async (id) => (await own.client.exists(`${t.services.shared.keys.bullPrefix}:cache-sync:${id}`)) === 1));
      assert.deepEqual(queued, [true, true]);
      // Workers of the previous release read kind and tokenHashes: the job still carries them.
      const data = JSON.parse((await own.client.hget(`${t.services.shared.keys.bullPrefix}:cache-sync:${ids[0]}`, 'data'))!) as Record<string, unknown>;
      assert.deepEqual([data.kind, data.tokenHashes], ['revoked', []]);
    } finally {
      await tier.close();
      await t.close();
      await own.close();
    }
  });
});

describe('outbox rows are written with the change or not at all', () => {
  it('a refresh refused before any write leaves no row', async () => {
    const t = await createTestApp();
    try {
      const tokens = await login(t.app, 'atomic');
      await post(t.app, '/v1/auth/logout', {}, { authorization: `Bearer ${tokens.access_token}` });
      const before = (await t.db.query('SELECT id FROM outbox')).rows.length;
      assert.equal((await refresh(t.app, tokens.refresh_token)).statusCode, 400);
      assert.equal((await t.db.query('SELECT id FROM outbox')).rows.length, before);
    } finally {
      await t.close();
    }
  });
});
