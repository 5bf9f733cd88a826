/**
 * Write-behind rotation in a region over three shards, one of them down: the
 * flush goes on writing the other shards' rotations however many of the down
 * shard's wait in Redis (they are passed over for a while, not sampled into
 * every batch), and writes those too once the shard is back.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { normalizeUsername } from '../src/auth/usernames.js';
import { FLUSH_BATCH, RotationFlush } from '../src/jobs/rotation-flush.js';
import { SQL } from '../src/storage/postgres/sql.js';
import { newId, systemRandom } from '../src/util/runtime.js';
import { SLOTS, slotOfId, slotOfName } from '../src/util/slots.js';
import { createDatabase, createTestApp, json, login, metricValue, refresh, type TestApp, type Tokens } from './helpers.js';
import { type RedisServer, startRedisServer } from './redis-server.js';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';

/** Which shard the even split gives a slot: main, s1, s2. */
const shardOfSlot = (slot: number): number => Math.floor((slot * 3) / SLOTS);
const sessionOf = (token: string) => token.split('.')[0]!;

describe('write-behind flush with a shard down', () => {
  const dbs: { url: string; drop: () => Promise<void> }[] = [];
  let proxy: TcpProxy;
  let redis: RedisServer;
  let t: TestApp;

  before(async () => {
    for (let i = 0; i < 3; i++) dbs.push(await createDatabase('meridian_wbshard'));
    const s2 = new URL(dbs[2]!.url);
    proxy = await startTcpProxy(s2.hostname, Number(s2.port));
    s2.port = String(proxy.port);
    redis = await startRedisServer();
    t = await createTestApp({
      databaseUrl: dbs[0]!.url,
      env: {
        MERIDIAN_SHARDS: `s1=${dbs[1]!.url} s2=${s2.toString()}`,
        REDIS_URL: redis.url,
        MERIDIAN_REFRESH_WRITES: 'write-behind',
        MERIDIAN_REFRESH_GRACE_SECONDS: '0',
      },
      services: { openStorage: undefined },
    });
  });

  after(async () => {
    await t?.close();
    await proxy?.close();
    await redis?.close();
    for (const d of dbs) await d.drop();
  });

  it("writes the other shards' rotations while more than a batch of the down shard's wait, and the down shard's once it is back", async () => {
    const { shared, storage } = t.services;
    const ledger = shared.rotations!;
    const flush = new RotationFlush(ledger, storage.rotations, t.clock, t.services.metrics, t.services.logger);
    // Sessions on every shard, each rotated once in Redis only.
    const rotated: Tokens[] = [];
    for (let i = 0; i < 24; i++) rotated.push(json<Tokens>(await refresh(t.app, (await login(t.app, `wb-shard-${i}`)).refresh_token)));
    const onShard = (i: number) => rotated.filter((r) => shardOfSlot(slotOfId(sessionOf(r.refresh_token))!) === i);
    assert.ok(
      [0, 1, 2].every((i) => onShard(i).length > 0),
      'sessions on every shard',
    );

    proxy.cut();
    // Three batches' worth of the down shard's rotations (of sessions it would hold), beside the real ones.
    const link = shared.link!;
    const s2Slot = SLOTS - 1;
    const byKey = new Map<string, Record<string, string>>();
    for (let i = 0; i < 3 * FLUSH_BATCH; i++) {
      const id = newId('local', t.clock, systemRandom, s2Slot);
      const key = shared.keys.pendingRotations(id);
      byKey.set(key, { ...byKey.get(key), [id]: `5:${t.clock.now()}` });
    }
    for (const [key, fields] of byKey) await link.run((r) => r.hset(key, fields));
    const pending = await ledger.count();
    assert.equal(pending, 3 * FLUSH_BATCH + rotated.length);

    const generation = async (token: string) => (await storage.sessions().findSession(sessionOf(token)))?.generation;
    // Two passes: one meets the down shard and learns it, the next passes over its rotations to find the rest.
    for (let pass = 0; pass < 2; pass++) await flush.flushOnce().catch(() => 0);
    for (const i of [0, 1]) {
      for (const r of onShard(i)) assert.equal(await generation(r.refresh_token), 1, `a rotation on shard ${i} is written with s2 down`);
    }
    assert.equal(await ledger.count(), 3 * FLUSH_BATCH + onShard(2).length, "only the down shard's rotations are still pending");

    proxy.heal();
    // The hold lapses (1 s) and the shard's rotations are written; the invented sessions exist nowhere, so nothing moves for them.
    t.clock.advance(2000);
    for (let pass = 0; pass < 6 && (await ledger.count()) > 0; pass++) await flush.flushOnce();
    assert.equal(await ledger.count(), 0, 'every pending rotation flushed once the shard is back');
    for (const r of onShard(2)) assert.equal(await generation(r.refresh_token), 1, 'the down shard got its rotations');
  });

  it("writes the rotations of a shard's open slots while another of its slots is frozen, and keeps the frozen one's pending", async () => {
    const sessionIn = async (slot: number, base: string) => {
      let name = base;
      for (let i = 0; slotOfName(normalizeUsername(name)) !== slot; i++) name = `${base}-${i}`;
      return sessionOf((await login(t.app, name)).refresh_token);
    };
    // Slots 17 and 18 are both on main; `meridian shards move` has begun on 17.
    const frozen = await sessionIn(17, 'wb-frozen');
    const open = await sessionIn(18, 'wb-open');
    const c = new pg.Client({ connectionString: dbs[0]!.url });
    await c.connect();
    try {
      await c.query(SQL.installSlotGuard);
      await c.query(SQL.guardSlot, [17, 'frozen']);
      const now = t.clock.now();
      const [a, b] = [frozen, open].map((sessionId) => ({ sessionId, generation: 3, rotatedAt: now, token: `3:${now}` }));
      const result = await t.services.storage.rotations.apply([a!, b!]);
      assert.deepEqual(result.written, [b], 'the open slot is written');
      assert.deepEqual(result.guarded, [a], 'the frozen one waits out the move, pending');
      assert.equal(result.failed, undefined, 'and the shard is not taken for down');
      await c.query(SQL.unguardSlot, [17]);
    } finally {
      await c.end();
    }
  });

  it("holds a frozen slot's rotation back a while instead of trying it (a refused batch, a guard query, a map read) every pass", async () => {
    const { shared, storage, metrics } = t.services;
    const ledger = shared.rotations!;
    const flush = new RotationFlush(ledger, storage.rotations, t.clock, metrics, t.services.logger);
    let name = 'wb-held-frozen';
    for (let i = 0; slotOfName(normalizeUsername(name)) !== 19; i++) name = `wb-held-frozen-${i}`;
    const tokens = await login(t.app, name);
    const c = new pg.Client({ connectionString: dbs[0]!.url });
    await c.connect();
    try {
      await c.query(SQL.guardSlot, [19, 'frozen']);
      assert.equal((await refresh(t.app, tokens.refresh_token)).statusCode, 200, 'a write-behind refresh is Redis alone');
      assert.equal(await ledger.count(), 1);
      const before = await metricValue(metrics.shardQueries, { shard: 'main' });
      for (let pass = 0; pass < 10; pass++) {
        await flush.flushOnce();
        t.clock.advance(100);
      }
      const statements = (await metricValue(metrics.shardQueries, { shard: 'main' })) - before;
      assert.ok(statements <= 10, `${statements} statements on main in 10 passes`);
      assert.equal(await ledger.count(), 1, 'still pending while the slot is frozen');
      await c.query(SQL.unguardSlot, [19]);
      t.clock.advance(1000);
      await flush.flushOnce();
      assert.equal(await ledger.count(), 0, 'written once the freeze ends');
    } finally {
      await c.query(SQL.unguardSlot, [19]);
      await c.end();
    }
  });
});
