/**
 * A start-up that fails half-way leaves nothing open: the process factory
 * closes the database pool, the Redis connections and the timers of every
 * step that had already run, so a caller that retries or exits does not leak
 * them. Each case fails a different step for real (no stand-ins): the
 * migration, the key ring's first load, and the regions file.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { loadConfig } from '../src/config/load.js';
import { createLogger } from '../src/observability/logger.js';
import { createServices } from '../src/services.js';
import { createDatabase, createTestApp, eventually } from './helpers.js';
import { startRedisServer, testPrefix, type RedisServer } from './redis-server.js';

/** Handles that keep the event loop alive, by kind (sockets, timers). */
function openHandles(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const kind of process.getActiveResourcesInfo()) counts.set(kind, (counts.get(kind) ?? 0) + 1);
  return counts;
}

/** True when no kind of handle has more members than in `baseline`. */
const noMoreThan = (baseline: Map<string, number>) => () => [...openHandles()].every(([kind, n]) => n <= (baseline.get(kind) ?? 0));

describe('a start-up that fails', () => {
  let redis: RedisServer;
  before(async () => {
    redis = await startRedisServer();
  });
  after(() => redis.close());

  const env = (databaseUrl: string, extra: Record<string, string> = {}) =>
    loadConfig({
      DATABASE_URL: databaseUrl,
      REDIS_URL: redis.url,
      MERIDIAN_REDIS_PREFIX: testPrefix('unwind'),
      MERIDIAN_DATA_DIR: tmpdir(),
      MERIDIAN_MASTER_KEY: Buffer.alloc(32, 7).toString('base64url'),
      LOG_LEVEL: 'silent',
      ...extra,
    });

  it('in the migration closes the database pool', async () => {
    const db = await createDatabase();
    try {
      // A table in the way: the first migration cannot create it.
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      await c.query('CREATE TABLE users (x int)');
      await c.end();
      const baseline = openHandles();
      await assert.rejects(createServices(env(db.url), { logger: createLogger('silent') }), /already exists/);
      await eventually(noMoreThan(baseline), 5000, `no handle left open (${JSON.stringify([...openHandles()])})`);
    } finally {
      await db.drop();
    }
  });

  it('in the first key load closes the pool, the Redis connections and every timer', async () => {
    const db = await createDatabase();
    try {
      const first = await createTestApp({ databaseUrl: db.url });
      await first.close();
      const baseline = openHandles();
      // Another master key: the region's signing keys cannot be decrypted, after storage and Redis are open.
      await assert.rejects(
        createServices(env(db.url, { MERIDIAN_MASTER_KEY: Buffer.alloc(32, 9).toString('base64url') }), { logger: createLogger('silent') }),
        /cannot be decrypted/,
      );
      await eventually(noMoreThan(baseline), 5000, `no handle left open (${JSON.stringify([...openHandles()])})`);
    } finally {
      await db.drop();
    }
  });

  it('on a bad regions file opens nothing at all', async () => {
    const file = join(tmpdir(), `regions-${process.pid}.json`);
    writeFileSync(file, '{"regions": []}');
    const baseline = openHandles();
    await assert.rejects(
      createServices(env('postgres://postgres@127.0.0.1:1/none', { MERIDIAN_REGIONS_FILE: file, MERIDIAN_REGION_SECRET: 'x'.repeat(32) }), {
        logger: createLogger('silent'),
      }),
      /MERIDIAN_REGIONS_FILE/,
    );
    assert.ok(noMoreThan(baseline)(), 'nothing opened');
  });
});
