import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decideRefresh, type RefreshRules } from '../src/auth/refresh-policy.js';
import { hashLegacyToken, mintRefreshToken, readRefreshToken, refreshTokenRegion } from '../src/auth/refresh-tokens.js';
import type { RefreshState } from '../src/auth/stores.js';
import { BACKENDS, claimsOf, createTestApp, json, login, post, type TestApp, type Tokens } from './helpers.js';

const KEY = Buffer.alloc(32, 1);
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const SID = 'us-east_01j0000000abcdefghjkmnpqrs';

/** Every way to change one part of a genuine token: session, region, generation, MAC, length. */
function tampered(token: string): Record<string, string> {
  const [sid, gen, mac] = token.split('.') as [string, string, string];
  const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
  const [region, rest] = sid.split('_') as [string, string];
  return {
    session: `${sid.slice(0, -1)}${sid.endsWith('a') ? 'b' : 'a'}.${gen}.${mac}`,
    region: `${region === 'eu-west' ? 'us-east' : 'eu-west'}_${rest}.${gen}.${mac}`,
    'generation + 1': `${sid}.${Number(gen) + 1}.${mac}`,
    'generation with a leading zero': `${sid}.0${gen}.${mac}`,
    'mac, first char': `${sid}.${gen}.${flip(mac, 0)}`,
    // The 43rd char carries 2 bits and 4 unused ones: flipping an unused one spells the same MAC otherwise.
    'mac, another spelling of the same bits': `${sid}.${gen}.${mac.slice(0, -1)}${B64[B64.indexOf(mac[42]!) ^ 1]}`,
    'mac, one char short': `${sid}.${gen}.${mac.slice(0, -1)}`,
    'mac, one char long': `${sid}.${gen}.${mac}A`,
    'no generation': `${sid}.${mac}`,
    'the MAC of another key': mintRefreshToken({ sessionId: sid, generation: Number(gen) }, Buffer.alloc(32, 9)),
  };
}

describe('refresh-token format', () => {
  it('a minted token reads back as its session and generation, and names its region', () => {
    const token = mintRefreshToken({ sessionId: SID, generation: 7 }, KEY);
    assert.match(token, /^[A-Za-z0-9_.-]+$/, 'URL-safe');
    assert.deepEqual(readRefreshToken(token, KEY), { kind: 'current', region: 'us-east', ref: { sessionId: SID, generation: 7 } });
    assert.equal(refreshTokenRegion(token), 'us-east');
    // 256 bits of MAC: nothing about it can be guessed without the key.
    assert.equal(Buffer.from(token.split('.')[2]!, 'base64url').length, 32);
  });

  it('any changed part fails the MAC or the format', () => {
    const token = mintRefreshToken({ sessionId: SID, generation: 3 }, KEY);
    for (const [what, t] of Object.entries(tampered(token))) assert.deepEqual(readRefreshToken(t, KEY), { kind: 'invalid' }, what);
    assert.deepEqual(readRefreshToken(`${SID}.99999999999.${token.split('.')[2]}`, KEY), { kind: 'invalid' }, 'a generation past the counter');
  });

  it('a previous-format token is recognised by its spelling, for the lookup of its stored hash', () => {
    const legacy = `eu-west.${Buffer.alloc(32, 5).toString('base64url')}`;
    assert.deepEqual(readRefreshToken(legacy, KEY), { kind: 'legacy', region: 'eu-west', hash: hashLegacyToken(legacy) });
    assert.equal(refreshTokenRegion(legacy), 'eu-west');
  });
});

describe('refresh decisions from the generation alone', () => {
  const rules: RefreshRules = { graceMs: 10_000, idleMs: 600_000 };
  const now = 1_000_000_000;
  const state: RefreshState = {
    sessionId: SID,
    userId: 'us-east_u',
    username: 'u',
    disabled: false,
    region: 'us-east',
    generation: 5,
    rotatedAt: now - 4000,
    expiresAt: now + 3_600_000,
    revokedAt: null,
    jkt: null,
  };
  const decide = (presented: number, change: Partial<RefreshState> = {}, at = now) => decideRefresh({ ...state, ...change }, presented, at, rules);

  it('the live generation rotates; one not heard of yet rotates as the live one', () => {
    assert.deepEqual(decide(5), { kind: 'rotate', next: 6, ahead: false });
    assert.deepEqual(decide(6), { kind: 'rotate', next: 7, ahead: true });
    assert.deepEqual(decide(9), { kind: 'rotate', next: 10, ahead: true });
  });

  it('the generation before, inside the grace window, gets the live one again; after it, or older, is reuse', () => {
    assert.deepEqual(decide(4), { kind: 'grace', generation: 5 });
    assert.deepEqual(decide(4, {}, now + 6001), { kind: 'reuse' });
    assert.deepEqual(decide(3), { kind: 'reuse' });
    assert.deepEqual(decide(0), { kind: 'reuse' });
  });

  it('revoked, expired, idle and disabled refuse before any generation rule', () => {
    assert.deepEqual(decide(5, { revokedAt: now - 1 }), { kind: 'reject', reason: 'revoked' });
    assert.deepEqual(decide(3, { revokedAt: now - 1 }), { kind: 'reject', reason: 'revoked' }, 'an ended session is not revoked twice');
    assert.deepEqual(decide(5, { expiresAt: now }), { kind: 'reject', reason: 'expired' });
    assert.deepEqual(decide(5, { rotatedAt: now - 600_000 }), { kind: 'reject', reason: 'idle_expired' });
    assert.deepEqual(decide(5, { disabled: true }), { kind: 'reject', reason: 'disabled' });
    assert.deepEqual(decideRefresh(null, 5, now, rules), { kind: 'reject', reason: 'unknown' });
  });
});

for (const backend of BACKENDS) {
  describe(`forged refresh tokens (${backend})`, () => {
    let t: TestApp;
    before(async () => {
      t = await createTestApp({ backend });
    });
    after(() => t.close());

    /** Statements run so far, from the server's own metrics. */
    const statements = async () => {
      const text = (await t.app.inject({ url: '/metrics' })).body;
      let n = 0;
      for (const m of text.matchAll(/^meridian_db_queries_total\{[^}]*\} (\d+)/gm)) n += Number(m[1]);
      return n;
    };

    it('a token with a changed session, region, generation, MAC or length is invalid_grant and costs no statement', async () => {
      const tokens = await login(t.app, 'forgery');
      const before = await statements();
      for (const [what, token] of Object.entries(tampered(tokens.refresh_token))) {
        const r = await post(t.app, '/v1/auth/refresh', { refresh_token: token });
        assert.equal(r.statusCode, 400, what);
        assert.equal(json(r).error, 'invalid_grant', what);
      }
      assert.equal(await statements(), before, 'no statement ran for a forged token');
      // The genuine token is untouched by the forgeries: it still rotates, once.
      const sid = claimsOf(tokens.access_token).sid;
      const next = json<Tokens>(await post(t.app, '/v1/auth/refresh', { refresh_token: tokens.refresh_token }));
      assert.equal(next.refresh_token.split('.').length, 3);
      const { rows } = await t.db.query<{ generation: number; revoked_at: Date | null }>('SELECT generation, revoked_at FROM sessions WHERE id = $1', [sid]);
      assert.deepEqual(rows[0], { generation: 1, revoked_at: null });
    });
  });
}
