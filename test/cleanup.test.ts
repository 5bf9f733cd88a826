/**
 * Cleanup deletes exactly what has expired (families, relayed outbox rows,
 * previous-format token rows) and keeps everything else, on PostgreSQL and
 * PGlite. A rotation leaves nothing to clean up.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BACKENDS, claimsOf, createTestApp, json, login, logout, refresh, type TestApp, type Tokens } from './helpers.js';

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
    /** A row of the token table as the release before this format left them (nothing writes them now). */
    const legacyToken = (hash: string, sid: string, generation: number, expiresAt: number) =>
      t.db.query(
        `INSERT INTO refresh_tokens (token_hash, session_id, user_id, region, generation, created_at, expires_at)
         SELECT $1, id, user_id, region, $3, created_at, $4 FROM sessions WHERE id = $2`,
        [hash, sid, generation, new Date(expiresAt)],
      );

    it('removes exactly the expired tokens, expired families and sent outbox rows', async () => {
      const start = t.clock.now();
      const at = (days: number) => t.clock.set(start + days * DAY);
      // Day 0: a session that reaches its absolute expiry (day 30), one that idles out (day 15),
      // and one that is revoked shortly before its expiry.
      const old = await login(t.app, 'old-session');
      const idle = await login(t.app, 'idle-session');
      const revoked = await login(t.app, 'revoked-session');
      const [oldSid, idleSid, revokedSid] = [old, idle, revoked].map((s) => claimsOf(s.access_token).sid);
      // Day 10: the old session rotates.
      at(10);
      assert.equal((await refresh(t.app, old.refresh_token)).statusCode, 200);
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
      const liveSid = claimsOf(live.access_token).sid;
      await legacyToken('expired-on-day-30', liveSid, 0, start + 30 * DAY);
      await legacyToken('expires-on-day-40', liveSid, 1, start + 40 * DAY);
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
      assert.deepEqual(first, { tokens: 1, sessions: 2, outbox: 3, revocations: 0 });
      assert.equal(await exists('sessions', 'id', oldSid!), false);
      assert.equal(await exists('sessions', 'id', idleSid!), false);
      assert.equal(await exists('refresh_tokens', 'token_hash', 'expired-on-day-30'), false);
      assert.equal(await exists('sessions', 'id', revokedSid!), true, 'an expired family revoked recently is kept');
      assert.equal(await exists('refresh_tokens', 'token_hash', 'expires-on-day-40'), true);
      assert.equal(await exists('sessions', 'id', liveSid), true);
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
