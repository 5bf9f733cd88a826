import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { cleanupHorizons } from '../src/jobs/cleanup.js';
import { ReplicationApplier } from '../src/regions/replication-apply.js';
import { createTestApp, json, login, post, type TestApp, testRefreshToken } from './helpers.js';

describe('a revocation received before its family', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(() => t.close());

  it('outlives cleanup until the family could no longer be live: a late family arrives revoked', async () => {
    await login(t.app, 'late-family');
    const userId = (await t.db.query<{ id: string }>("SELECT id FROM users WHERE username_normalized = 'late-family'")).rows[0]!.id;
    const s = t.services;
    const applier = new ReplicationApplier({
      replicas: s.storage.replicas,
      sessions: s.storage.sessions(),
      cache: s.shared.cache,
      revocations: s.revocations,
      audit: s.audit,
      clock: t.clock,
      graceMs: 10_000,
    });
    const sid = 'b_01kzzzzzzzzzzzzzzzzzzzzzzz';
    const token = testRefreshToken(sid, 0);
    const t0 = t.clock.now();
    await applier.apply('a', [{ id: '1', kind: 'revoked', at: t0, tokens: [], revocation: { sessionId: sid, userId, revokedAt: t0, reason: 'logout' } }]);
    // Long past every access token of the session, well within the session's own lifetime.
    t.clock.advance(20 * 60_000);
    await s.storage.maintenance.cleanup(cleanupHorizons(t.config, t.clock.now()));
    await applier.apply('b', [
      {
        id: '2',
        kind: 'created',
        at: t0 - 1000,
        tokens: [],
        family: {
          id: sid,
          userId,
          region: 'b',
          generation: 0,
          createdAt: t0 - 1000,
          expiresAt: t0 + 30 * 86_400_000,
          lastUsedAt: t0 - 1000,
          revokedAt: null,
          revokedReason: null,
        },
      },
    ]);
    const r = await post(t.app, '/v1/auth/refresh', { refresh_token: token });
    assert.equal(r.statusCode, 400, r.body);
    assert.equal(json(r).error, 'invalid_grant');
  });
});
