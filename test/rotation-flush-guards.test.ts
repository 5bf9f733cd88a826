/**
 * The write-behind flush meeting a slot move on real PostgreSQL: a move
 * freezes slots one after another and deletes behind, so between the flush's
 * statements another slot may freeze, or leave the shard. The sink writes
 * the others' rotations, keeps those slots' pending (never taken as written
 * where they matched nothing), and the flush holds them back rather than
 * trying them again every pass.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { normalizeUsername } from '../src/auth/usernames.js';
import type { PendingRotation } from '../src/storage/background.js';
import type { Db } from '../src/storage/postgres/db.js';
import { openDatabase } from '../src/storage/postgres/drivers.js';
import { PgRotationSink } from '../src/storage/postgres/rotations.js';
import { SQL } from '../src/storage/postgres/sql.js';
import { slotOfName } from '../src/util/slots.js';
import { createTestApp, login, type TestApp } from './helpers.js';

const sessionOf = (token: string) => token.split('.')[0]!;
const rot = (sessionId: string, at: number): PendingRotation => ({ sessionId, generation: 3, rotatedAt: at, token: `3:${at}` });

describe('the write-behind flush during a slot move', () => {
  let t: TestApp;
  let db: Db;
  const sessions = new Map<number, string>();

  before(async () => {
    t = await createTestApp({ backend: 'postgres' });
    db = await openDatabase({ databaseUrl: t.config.databaseUrl, dataDir: '.', poolSize: 2 });
    for (const slot of [17, 18, 19, 20, 21, 22]) {
      let name = `flush-guard-${slot}`;
      for (let i = 0; slotOfName(normalizeUsername(name)) !== slot; i++) name = `flush-guard-${slot}-${i}`;
      sessions.set(slot, sessionOf((await login(t.app, name)).refresh_token));
    }
    await db.exec(SQL.installSlotGuard);
  });
  after(async () => {
    await db?.close();
    await t?.close();
  });

  /** The database, with `then` run (on it) right after the first statement that matches `after`. */
  const interleaved = (after: string, then: () => Promise<unknown>): Db => {
    let done = false;
    return new Proxy(db, {
      get(target, key, receiver) {
        if (key !== 'query') return Reflect.get(target, key, receiver);
        return async (text: string, params?: readonly unknown[]) => {
          const r = await target.query(text, params as unknown[]);
          if (!done && text === after) {
            done = true;
            await then();
          }
          return r;
        };
      },
    });
  };
  const generation = async (slot: number) => (await db.query<{ generation: number }>(SQL.findSession, [sessions.get(slot)])).rows[0]?.generation;
  const guard = (slot: number, state: 'frozen' | 'moved') => db.query(SQL.guardSlot, [slot, state]);
  const unguard = (slot: number) => db.query(SQL.unguardSlot, [slot]);

  it('keeps a second slot that froze between the guard check and the retry pending, and writes the rest', async () => {
    await guard(17, 'frozen');
    const sink = new PgRotationSink(
      interleaved(SQL.guardedRotations, () => guard(18, 'frozen')),
      false,
      true,
    );
    try {
      const now = Date.now();
      const [a, b, c] = [17, 18, 19].map((s) => rot(sessions.get(s)!, now));
      const result = await sink.apply([a!, b!, c!]);
      assert.deepEqual(result.written, [c]);
      assert.deepEqual(result.guarded, [a, b]);
      assert.equal(await generation(19), 3);
    } finally {
      await unguard(17);
      await unguard(18);
    }
  });

  it("asks about the retry's sessions that matched nothing: a slot that left the shard meanwhile is not taken as written", async () => {
    await guard(20, 'frozen');
    // Slot 21 moves away entirely while the flush waits: marked moved, its rows deleted behind.
    const leave = async () => {
      await guard(21, 'moved');
      await db.transaction(async (tx) => {
        await tx.query(SQL.allowSlotWrites);
        await tx.query('DELETE FROM sessions WHERE id = $1', [sessions.get(21)]);
      });
    };
    const sink = new PgRotationSink(interleaved(SQL.guardedRotations, leave), false, true);
    try {
      const now = Date.now();
      const [a, b, c] = [20, 21, 22].map((s) => rot(sessions.get(s)!, now));
      const result = await sink.apply([a!, b!, c!]);
      assert.deepEqual(result.written, [c], "slot 21's rotation is owed to its new shard");
      assert.deepEqual(result.guarded, [a, b]);
    } finally {
      await unguard(20);
      await unguard(21);
    }
  });
});
