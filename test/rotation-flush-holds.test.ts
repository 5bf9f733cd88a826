/**
 * The write-behind flush while shards are down, on the real pending hash
 * (RedisRotations and its HSCAN cursors) and a sink that fails the sessions
 * of the down shards as RoutedRotationSink does: the rotations of the shards
 * that are up are written within a pass or two however the down ones failed
 * (one after another too), within a pass per 20 batches of a down shard's
 * backlog beyond that, and a shard down is logged once, not once a pass,
 * with no scan while only its rotations are pending (once every one was
 * read) and none of that stuck by a wall clock stepped back.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { FLUSH_BATCH, RotationFlush } from '../src/jobs/rotation-flush.js';
import { createLogger } from '../src/observability/logger.js';
import { createMetrics } from '../src/observability/metrics.js';
import type { FlushResult, PendingRotation, RotationLedger, RotationSink } from '../src/storage/background.js';
import { RedisLink } from '../src/storage/redis/connection.js';
import { redisKeys } from '../src/storage/redis/keys.js';
import { RedisRotations } from '../src/storage/redis/rotations.js';
import { ManualClock } from '../src/util/runtime.js';
import { type RedisServer, startRedisServer } from './redis-server.js';

const shardOf = (id: string) => id.split('-')[0] as string;

describe('write-behind flush with shards down', () => {
  let redis: RedisServer;
  let link: RedisLink;

  before(async () => {
    redis = await startRedisServer();
    link = new RedisLink(redis.url, createLogger('silent'));
    await link.ready(5000);
  });
  after(async () => {
    await link?.close();
    await redis?.close();
  });

  /** A flush over its own pending hash; `down` names the shards whose writes fail. */
  function setup(prefix: string) {
    const keys = redisKeys(prefix);
    const ledger = new RedisRotations(link, keys);
    const down = new Set<string>();
    const written = new Set<string>();
    let scans = 0;
    const counting: RotationLedger = {
      pending: (batch, held) => {
        scans++;
        return ledger.pending(batch, held);
      },
      forget: (flushed) => ledger.forget(flushed),
      count: () => ledger.count(),
    };
    const sink: RotationSink = {
      async apply(batch: readonly PendingRotation[]): Promise<FlushResult> {
        const ok = batch.filter((r) => !down.has(shardOf(r.sessionId)));
        for (const r of ok) written.add(r.sessionId);
        const failed = new Set(batch.map((r) => shardOf(r.sessionId)).filter((s) => down.has(s)));
        const error = new Error('connect ECONNREFUSED');
        return { moved: ok.length, written: ok, ...(failed.size ? { failed: { error, holds: (id: string) => failed.has(shardOf(id)) } } : {}) };
      },
    };
    const lines: string[] = [];
    const sinkStream = new Writable({
      write(chunk, _e, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const clock = new ManualClock();
    const flush = new RotationFlush(counting, sink, clock, createMetrics('local'), createLogger('info', sinkStream));
    const fill = async (shard: string, n: number) => {
      const fields: string[] = [];
      for (let i = 0; i < n; i++) fields.push(`${shard}-${i}`, '5:1');
      for (let i = 0; i < fields.length; i += 20_000) await redis.client.hset(keys.pendingRotationHashes[0]!, ...fields.slice(i, i + 20_000));
    };
    /** Passes (100 ms apart) until every `up` rotation is written; how many it took. */
    const passesUntil = async (up: number) => {
      let passes = 0;
      while ([...written].filter((id) => shardOf(id) === 'up').length < up && passes < 100) {
        passes++;
        await flush.flushOnce();
        clock.advance(100);
      }
      return passes;
    };
    const downs = () => lines.filter((l) => l.includes('a shard is down')).length;
    const back = () => lines.filter((l) => l.includes('every shard written again')).length;
    return { flush, clock, down, fill, passesUntil, logged: () => [downs(), back()], scans: () => scans, pending: () => ledger.count(), keys };
  }

  it("writes the others' rotations within two passes when a second shard goes down while the first is held", async () => {
    const f = setup('holds-two');
    f.down.add('s2');
    await f.fill('s2', 3 * FLUSH_BATCH);
    await f.flush.flushOnce();
    f.clock.advance(100);
    f.down.add('s3');
    await f.fill('s3', 3 * FLUSH_BATCH);
    await f.fill('up', 200);
    assert.ok((await f.passesUntil(200)) <= 2);
  });

  it("takes a pass per 20 batches of a down shard's backlog", async () => {
    const f = setup('holds-deep');
    f.down.add('s2');
    await f.fill('s2', 60 * FLUSH_BATCH);
    await f.fill('up', 200);
    assert.ok((await f.passesUntil(200)) <= 5);
  });

  it('logs a shard down once and back once, and does not scan while only its rotations are pending', async () => {
    const f = setup('holds-log');
    f.down.add('s2');
    await f.fill('s2', 50);
    for (let i = 0; i < 30; i++) {
      await f.flush.flushOnce();
      f.clock.advance(100);
    }
    // 3 s: a failing pass each second (the hold lapsed), one pass that found only held rotations, quiet passes in between.
    assert.ok(f.scans() <= 7, `${f.scans()} scans in 30 passes`);
    assert.deepEqual(f.logged(), [1, 0]);
    f.down.clear();
    f.clock.advance(1000);
    for (let i = 0; i < 3; i++) await f.flush.flushOnce();
    assert.equal(await f.pending(), 0, 'written once the shard is back');
    assert.deepEqual(f.logged(), [1, 1]);
  });

  it('goes quiet only once every pending rotation was read, not when a pass stopped at its scan budget', async () => {
    const f = setup('holds-budget');
    f.down.add('s2');
    await f.fill('s2', 200 * FLUSH_BATCH);
    await f.fill('up', 5);
    // 200,000 held: ten budgets of 20,000, a pass each and a pass's pause (a quiet second each would be ten seconds).
    assert.ok((await f.passesUntil(5)) <= 25);
  });

  it('forgets a hold and a quiet time left more than a hold ahead by a wall clock stepped back', async () => {
    const f = setup('holds-clock');
    f.down.add('s2');
    await f.fill('s2', 50);
    await f.flush.flushOnce();
    f.clock.advance(100);
    await f.flush.flushOnce();
    f.down.clear();
    f.clock.advance(-3_600_000);
    await f.fill('up', 10);
    for (let i = 0; i < 30; i++) {
      await f.flush.flushOnce();
      f.clock.advance(100);
    }
    assert.equal(await f.pending(), 0, 'the flush went on after the step');
  });

  it('logs the return of a shard whose rotations another worker flushed, and then a second outage', async () => {
    const f = setup('holds-relog');
    f.down.add('s2');
    await f.fill('s2', 50);
    await f.flush.flushOnce();
    f.down.clear();
    await redis.client.del(f.keys.pendingRotationHashes[0]!);
    for (let i = 0; i < 30; i++) {
      await f.flush.flushOnce();
      f.clock.advance(100);
    }
    f.down.add('s3');
    await f.fill('s3', 50);
    await f.flush.flushOnce();
    assert.deepEqual(f.logged(), [2, 1]);
  });

  it('pauses while only a down shard with a backlog past its scan budget is pending (no full-budget scan every pass)', async () => {
    const f = setup('holds-quiet-deep');
    f.down.add('s2');
    await f.fill('s2', 30 * FLUSH_BATCH);
    for (let i = 0; i < 30; i++) {
      await f.flush.flushOnce();
      f.clock.advance(100);
    }
    assert.ok(f.scans() <= 18, `${f.scans()} scans in 30 passes (a scan every pass would be 30)`);
  });

  it('logs a second outage that begins while the flush is busy (a batch or more pending at every pass)', async () => {
    const f = setup('holds-busy');
    f.down.add('s2');
    await f.fill('s2', 50);
    await f.flush.flushOnce();
    f.down.clear();
    f.clock.advance(1100);
    for (let k = 0; k < 20; k++) {
      await f.fill(`up${k}`, FLUSH_BATCH);
      await f.flush.flushOnce();
      f.clock.advance(100);
    }
    assert.deepEqual(f.logged(), [1, 1], 's2 back, seen from its rotations written');
    f.down.add('s3');
    await f.fill('s3', 50);
    for (let k = 20; k < 30; k++) {
      await f.fill(`up${k}`, FLUSH_BATCH);
      await f.flush.flushOnce();
      f.clock.advance(100);
    }
    assert.equal(f.logged()[0], 2, 'the second outage (s3) is logged');
  });
});
