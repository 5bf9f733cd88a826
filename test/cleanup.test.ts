/**
 * Cleanup deletes exactly what has expired (tokens, families, relayed outbox
 * rows) and keeps everything else, on PostgreSQL and PGlite.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { hashRefreshToken } from '../src/auth/refresh-tokens.js';
import { BACKENDS, createTestApp, json, login, logout, refresh, type TestApp, type Tokens } from './helpers.js';

const DAY = 86_400_000;

for (const backend of BACKENDS) {
  describe(`cleanup (${backend})`, () => {
    let t: TestApp;
    before(async () => {
      t = await createTestApp({ backend });
    });
    after(() => t.close());

    const exists = async (table: 'refresh_tokens' | 'sessions', column: string, value: string) =>
      (await t.db.query(`SELECT 1 FROM ${table} WHERE ${column} = $1`, [value])).rows.length === 1;
    const sessionOf = async (refreshToken: string) =>
      (await t.db.query<{ session_id: string }>('SELECT session_id FROM refresh_tokens WHERE token_hash = $1', [hashRefreshToken(refreshToken)])).rows[0]!
        .session_id;

    it('removes exactly the expired tokens, expired families and sent outbox rows', async () => {
      const start = t.clock.now();
      const at = (days: number) => t.clock.set(start + days * DAY);
      // Day 0: a session that reaches its absolute expiry (day 30), one that idles out (day 15),
      // and one that is revoked shortly before its expiry.
      const old = await login(t.app, 'old-session');
      const idle = await login(t.app, 'idle-session');
      const revoked = await login(t.app, 'revoked-session');
      const [oldSid, idleSid, revokedSid] = await Promise.all([old, idle, revoked].map((s) => sessionOf(s.refresh_token)));
      // Day 10: the old session rotates; its consumed parent expires on day 15, its child on day 25.
      at(10);
      const oldChild = json<Tokens>(await refresh(t.app, old.refresh_token));
      // Day 14 and 28.5: the third session rotates twice (heads expiring day 29, then day 30), then logs out.
      at(14);
      const r1 = json<Tokens>(await refresh(t.app, revoked.refresh_token));
      at(28.5);
      const r2 = json<Tokens>(await refresh(t.app, r1.refresh_token));
      assert.equal((await logout(t.app, r2.access_token)).statusCode, 204);
      // Day 29: a live session, and three more that log out at once: four revocations in the
      // outbox (a region on its own writes rows for revocations only), three of them relayed.
      at(29);
      const live = await login(t.app, 'live-session');
      for (const name of ['gone-1', 'gone-2', 'gone-3']) assert.equal((await logout(t.app, (await login(t.app, name)).access_token)).statusCode, 204);
      // Three fanned out and synced; the fourth fanned out only: its cache sync is still owed.
      await t.db.query('UPDATE outbox SET sent_at = $1, synced_at = $1 WHERE id IN (SELECT id FROM outbox ORDER BY id LIMIT 3)', [new Date(t.clock.now())]);
      await t.db.query('UPDATE outbox SET sent_at = $1 WHERE sent_at IS NULL', [new Date(t.clock.now())]);
      const unsentBefore = (await t.db.query('SELECT id FROM outbox WHERE synced_at IS NULL')).rows.length;
      assert.equal(unsentBefore, 1);

      // Day 31, revocations since day 28 still protected (their access tokens could be alive).
      at(31);
      const first = await t.services.storage.maintenance.cleanup({
        now: t.clock.now(),
        keepRevokedSince: start + 28 * DAY,
        keepForeignRevocationsSince: start + 28 * DAY,
      });
      assert.deepEqual(first, { tokens: 6, sessions: 2, outbox: 3, revocations: 0 });
      assert.equal(await exists('sessions', 'id', oldSid!), false);
      assert.equal(await exists('sessions', 'id', idleSid!), false);
      assert.equal(await exists('refresh_tokens', 'token_hash', hashRefreshToken(oldChild.refresh_token)), false);
      assert.equal(await exists('sessions', 'id', revokedSid!), true, 'an expired family revoked recently is kept');
      assert.equal(await exists('refresh_tokens', 'token_hash', hashRefreshToken(live.refresh_token)), true);
      assert.equal((await t.db.query('SELECT id FROM outbox WHERE synced_at IS NULL')).rows.length, unsentBefore, 'a revocation not yet synced is kept');

      // Nothing more has expired: nothing more goes.
      assert.deepEqual(
        await t.services.storage.maintenance.cleanup({ now: t.clock.now(), keepRevokedSince: start + 28 * DAY, keepForeignRevocationsSince: start + 28 * DAY }),
        { tokens: 0, sessions: 0, outbox: 0, revocations: 0 },
      );
      // Once its access tokens are all dead, the revoked family goes too.
      assert.deepEqual(
        await t.services.storage.maintenance.cleanup({ now: t.clock.now(), keepRevokedSince: start + 29 * DAY, keepForeignRevocationsSince: start + 29 * DAY }),
        { tokens: 0, sessions: 1, outbox: 0, revocations: 0 },
      );
      assert.equal(await exists('sessions', 'id', revokedSid!), false);
      assert.equal((await refresh(t.app, live.refresh_token)).statusCode, 200);
    });

    it('deletes in batches until done, whatever the number of rows', async () => {
      await t.db.query(
        `INSERT INTO outbox (kind, session_id, generation, created_at, sent_at)
         SELECT 'created', 'x', 0, now(), now() FROM generate_series(1, 1234)`,
      );
      const r = await t.services.storage.maintenance.cleanup({
        now: t.clock.now(),
        keepRevokedSince: t.clock.now(),
        keepForeignRevocationsSince: t.clock.now(),
      });
      assert.equal(r.outbox, 1234);
    });
  });
}
