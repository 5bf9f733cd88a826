/**
 * Audit events: each one is written with its fields (region, user, session,
 * request id and its own), counted in the metrics by exactly one, and no
 * password, token or hash ever reaches the log.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { AUDIT_EVENTS } from '../src/observability/audit.js';
import { assertAbsent, claimsOf, createTestApp, eventually, json, PASSWORD, startTestServer, type TestApp, type Tokens } from './helpers.js';
import { type AuditLine, auditLines, deltas } from './metric-helpers.js';

const REGION = 'eu-west';
const ADMIN = 'admin-token-for-tests-0123456789';

describe('audit events', () => {
  let t: TestApp;
  const issued: string[] = [];
  const passwords = [PASSWORD, 'not the right password at all', 'Sh0rt!pw'];

  before(async () => {
    t = await createTestApp({
      env: { MERIDIAN_REGION: REGION, MERIDIAN_LOGIN_MAX_FAILURES: '2', MERIDIAN_LOGIN_MAX_FAILURES_PER_IP: '3', MERIDIAN_ADMIN_TOKEN: ADMIN },
    });
  });
  after(() => t.close());

  /** A request from a given client address (failure counters are kept per address), with a request id. */
  function send(url: string, body: unknown, opts: { ip?: string; requestId?: string; headers?: Record<string, string> } = {}) {
    return t.app.inject({
      method: 'POST',
      url,
      remoteAddress: opts.ip ?? '127.0.0.1',
      headers: { 'content-type': 'application/json', ...(opts.requestId ? { 'x-request-id': opts.requestId } : {}), ...opts.headers },
      payload: JSON.stringify(body),
    });
  }

  async function loginAs(username: string, ip = '127.0.0.1'): Promise<Tokens> {
    await send('/v1/auth/register', { username, password: PASSWORD }, { ip });
    const res = await send('/v1/auth/login', { username, password: PASSWORD }, { ip });
    assert.equal(res.statusCode, 200, res.body);
    const tokens = json<Tokens>(res);
    issued.push(tokens.access_token, tokens.refresh_token);
    return tokens;
  }

  const last = (event: string): AuditLine => {
    const line = auditLines(t.logs, event).at(-1);
    assert.ok(line, `no ${event} audit line`);
    return line;
  };

  it('register: user.registered and user.register_failed with the reason', async () => {
    const m = await deltas(t.services.metrics, { ok: ['meridian_registrations_total', { outcome: 'success' }] }, async () => {
      const res = await send('/v1/auth/register', { username: 'alice', password: PASSWORD }, { requestId: 'req-register-1' });
      assert.equal(res.statusCode, 201);
      const line = last('user.registered');
      assert.equal(line.user_id, json(res).id);
      assert.equal(line.session_id, null);
      assert.equal(line.request_id, 'req-register-1');
      assert.equal(line.region, REGION);
      assert.equal(line.outcome, 'success');
      assert.equal(line.level, 30);
    });
    assert.deepEqual(m, { ok: 1 });

    const taken = await deltas(t.services.metrics, { n: ['meridian_registrations_total', { outcome: 'username_taken' }] }, async () => {
      assert.equal((await send('/v1/auth/register', { username: 'ALICE', password: PASSWORD }, { requestId: 'req-register-2' })).statusCode, 409);
    });
    assert.deepEqual(taken, { n: 1 });
    assert.deepEqual(
      { reason: last('user.register_failed').reason, outcome: last('user.register_failed').outcome, request_id: last('user.register_failed').request_id },
      { reason: 'username_taken', outcome: 'failure', request_id: 'req-register-2' },
    );

    const weak = await deltas(t.services.metrics, { n: ['meridian_registrations_total', { outcome: 'weak_password' }] }, async () => {
      assert.equal((await send('/v1/auth/register', { username: 'weakling', password: 'Sh0rt!pw' })).statusCode, 400);
    });
    assert.deepEqual(weak, { n: 1 });
    assert.equal(last('user.register_failed').reason, 'weak_password');
    assert.equal(last('user.register_failed').detail, 'too short');
  });

  it('login: login.succeeded with user and session, counted with the tokens issued', async () => {
    const m = t.services.metrics;
    let tokens: Tokens | undefined;
    const moved = await deltas(
      m,
      {
        success: ['meridian_login_attempts_total', { outcome: 'success' }],
        access: ['meridian_tokens_issued_total', { kind: 'access' }],
        refresh: ['meridian_tokens_issued_total', { kind: 'refresh' }],
      },
      async () => {
        const res = await send('/v1/auth/login', { username: 'alice', password: PASSWORD }, { requestId: 'req-login-1' });
        assert.equal(res.statusCode, 200);
        tokens = json<Tokens>(res);
        issued.push(tokens.access_token, tokens.refresh_token);
      },
    );
    assert.deepEqual(moved, { success: 1, access: 1, refresh: 1 });
    const claims = claimsOf(tokens!.access_token);
    const line = last('login.succeeded');
    assert.deepEqual(
      { user_id: line.user_id, session_id: line.session_id, request_id: line.request_id, region: line.region, outcome: line.outcome },
      { user_id: claims.sub, session_id: claims.sid, request_id: 'req-login-1', region: REGION, outcome: 'success' },
    );
  });

  it('login: login.failed says bad_credentials, locked, rate_limited or invalid_request', async () => {
    const m = t.services.metrics;
    const failure = (outcome: string): [string, Record<string, string>] => ['meridian_login_attempts_total', { outcome }];
    const alice = last('user.registered').user_id;

    const bad = await deltas(m, { n: failure('bad_credentials') }, async () => {
      assert.equal((await send('/v1/auth/login', { username: 'nobody', password: PASSWORD }, { ip: '192.0.2.1' })).statusCode, 400);
      assert.deepEqual([last('login.failed').reason, last('login.failed').detail, last('login.failed').user_id], ['bad_credentials', 'unknown_user', null]);
      assert.equal((await send('/v1/auth/login', { username: 'alice', password: passwords[1] }, { ip: '192.0.2.1' })).statusCode, 400);
      assert.deepEqual([last('login.failed').reason, last('login.failed').detail, last('login.failed').user_id], ['bad_credentials', 'bad_password', alice]);
    });
    assert.deepEqual(bad, { n: 2 });

    // Two failures lock the account (MERIDIAN_LOGIN_MAX_FAILURES=2): even the right password is refused.
    await send('/v1/auth/register', { username: 'bob', password: PASSWORD });
    for (let i = 0; i < 2; i++) await send('/v1/auth/login', { username: 'bob', password: passwords[1] }, { ip: '192.0.2.10' });
    const locked = await deltas(m, { n: failure('locked') }, async () => {
      assert.equal((await send('/v1/auth/login', { username: 'bob', password: PASSWORD }, { ip: '192.0.2.10', requestId: 'req-locked' })).statusCode, 429);
    });
    assert.deepEqual(locked, { n: 1 });
    assert.deepEqual([last('login.failed').reason, last('login.failed').request_id], ['locked', 'req-locked']);

    // Three failures from one address (any usernames) throttle that address.
    for (const u of ['ghost1', 'ghost2', 'ghost3']) await send('/v1/auth/login', { username: u, password: PASSWORD }, { ip: '192.0.2.20' });
    const limited = await deltas(m, { n: failure('rate_limited') }, async () => {
      assert.equal((await send('/v1/auth/login', { username: 'alice', password: PASSWORD }, { ip: '192.0.2.20' })).statusCode, 429);
    });
    assert.deepEqual(limited, { n: 1 });
    assert.equal(last('login.failed').reason, 'rate_limited');
    assert.equal(last('login.failed').client_ip, '192.0.2.20');

    const invalid = await deltas(m, { n: failure('invalid_request') }, async () => {
      assert.equal((await send('/v1/auth/login', { username: 'a', password: PASSWORD })).statusCode, 400);
    });
    assert.deepEqual(invalid, { n: 1 });
    assert.equal(last('login.failed').reason, 'invalid_request');
  });

  it('refresh: token.refreshed (rotated, grace) with its path, token.refresh_failed, token.reuse_detected', async () => {
    const m = t.services.metrics;
    const tokens = await loginAs('carol');
    const { sub, sid } = claimsOf(tokens.access_token);
    const refresh = (token: string, requestId?: string) => send('/v1/auth/refresh', { refresh_token: token }, { requestId });

    const rotated = await deltas(
      m,
      // Login wrote the new family into the (in-process) cache: the refresh is decided on a cache hit.
      { rotated: ['meridian_refreshes_total', { outcome: 'rotated', path: 'cache' }], refresh: ['meridian_tokens_issued_total', { kind: 'refresh' }] },
      async () => {
        const res = await refresh(tokens.refresh_token, 'req-refresh-1');
        assert.equal(res.statusCode, 200);
        issued.push(json<Tokens>(res).refresh_token, json<Tokens>(res).access_token);
      },
    );
    assert.deepEqual(rotated, { rotated: 1, refresh: 1 });
    const line = last('token.refreshed');
    assert.deepEqual(
      [line.user_id, line.session_id, line.request_id, line.reason, line.path, line.region],
      [sub, sid, 'req-refresh-1', 'rotated', 'cache', REGION],
    );

    // A retry inside the grace window gets the same child: an access token is issued, no refresh token.
    // A cached grace decision is confirmed from the database, so its path is db.
    const grace = await deltas(
      m,
      {
        grace: ['meridian_refreshes_total', { outcome: 'grace', path: 'db' }],
        access: ['meridian_tokens_issued_total', { kind: 'access' }],
        refresh: ['meridian_tokens_issued_total', { kind: 'refresh' }],
      },
      async () => {
        const res = await refresh(tokens.refresh_token);
        assert.equal(res.statusCode, 200);
        issued.push(json<Tokens>(res).access_token);
      },
    );
    assert.deepEqual(grace, { grace: 1, access: 1, refresh: 0 });
    assert.equal(last('token.refreshed').reason, 'grace');

    t.clock.advance(11_000);
    const reuse = await deltas(
      m,
      {
        reuse: ['meridian_refresh_reuse_detected_total', { cause: 'outside_grace' }],
        refreshes: ['meridian_refreshes_total', { outcome: 'reuse', path: 'db' }],
      },
      async () => assert.equal((await refresh(tokens.refresh_token, 'req-reuse')).statusCode, 400),
    );
    assert.deepEqual(reuse, { reuse: 1, refreshes: 1 });
    const r = last('token.reuse_detected');
    assert.deepEqual(
      [r.user_id, r.session_id, r.request_id, r.cause, r.path, r.outcome, r.level],
      [sub, sid, 'req-reuse', 'outside_grace', 'db', 'failure', 40],
    );

    const rejected = await deltas(m, { n: ['meridian_refreshes_total', { outcome: 'rejected' }] }, async () => {
      assert.equal((await refresh(`${REGION}.${'A'.repeat(43)}`)).statusCode, 400);
      assert.deepEqual([last('token.refresh_failed').reason, last('token.refresh_failed').user_id], ['unknown', null]);
      assert.equal((await refresh('not-a-token')).statusCode, 400);
      assert.equal(last('token.refresh_failed').reason, 'malformed');
      // The family was revoked on reuse: its live child is refused too, and the line names the session.
      assert.equal((await refresh(issued.at(-3) as string)).statusCode, 400);
      assert.deepEqual([last('token.refresh_failed').reason, last('token.refresh_failed').session_id], ['revoked', sid]);
    });
    assert.deepEqual(rejected, { n: 3 });
  });

  it('logout and revocation: session.logged_out with its scope, session.revoked', async () => {
    const m = t.services.metrics;
    const first = await loginAs('dave');
    const { sub, sid } = claimsOf(first.access_token);
    const one = await deltas(m, { n: ['meridian_logouts_total', { kind: 'session' }] }, async () => {
      const res = await send('/v1/auth/logout', {}, { requestId: 'req-logout', headers: { authorization: `Bearer ${first.access_token}` } });
      assert.equal(res.statusCode, 204);
    });
    assert.deepEqual(one, { n: 1 });
    const line = last('session.logged_out');
    assert.deepEqual([line.user_id, line.session_id, line.request_id, line.scope, line.count], [sub, sid, 'req-logout', 'session', 1]);

    const a = await loginAs('dave');
    await loginAs('dave');
    const all = await deltas(m, { n: ['meridian_logouts_total', { kind: 'all_sessions' }] }, async () => {
      const res = await send('/v1/auth/logout', { all_sessions: true }, { headers: { authorization: `Bearer ${a.access_token}` } });
      assert.equal(res.statusCode, 204);
    });
    assert.deepEqual(all, { n: 1 });
    assert.deepEqual([last('session.logged_out').scope, last('session.logged_out').count], ['all_sessions', 2]);

    const erin = await loginAs('erin');
    const revoked = await deltas(m, { n: ['meridian_logouts_total', { kind: 'revoke' }] }, () =>
      t.services.sessions.revokeRefreshToken(erin.refresh_token, { requestId: 'req-revoke' }),
    );
    assert.deepEqual(revoked, { n: 1 });
    const r = last('session.revoked');
    assert.deepEqual([r.user_id, r.session_id, r.request_id], [claimsOf(erin.access_token).sub, claimsOf(erin.access_token).sid, 'req-revoke']);
  });

  it('password change and admin API: password.changed, password.change_failed, admin.action naming the actor', async () => {
    const m = t.services.metrics;
    const ip = '10.0.0.77';
    const frank = await loginAs('frank', ip);
    await loginAs('frank', ip);
    const { sub, sid } = claimsOf(frank.access_token);
    const auth = { authorization: `Bearer ${frank.access_token}` };
    const newPassword = 'an entirely new passphrase, 3rd';
    passwords.push(newPassword);
    const failed = await deltas(
      m,
      { wrong: ['meridian_password_changes_total', { outcome: 'bad_credentials' }], login: ['meridian_login_attempts_total', { outcome: 'bad_credentials' }] },
      async () => {
        const res = await send(
          '/v1/auth/password',
          { current_password: 'not the right password at all', new_password: newPassword },
          { ip, requestId: 'req-pw-1', headers: auth },
        );
        assert.equal(res.statusCode, 400);
      },
    );
    assert.deepEqual(failed, { wrong: 1, login: 1 });
    const f = last('password.change_failed');
    assert.deepEqual([f.user_id, f.session_id, f.reason, f.outcome, f.request_id], [sub, sid, 'bad_credentials', 'failure', 'req-pw-1']);
    const changed = await deltas(m, { n: ['meridian_password_changes_total', { outcome: 'success' }] }, async () => {
      assert.equal((await send('/v1/auth/password', { current_password: PASSWORD, new_password: newPassword }, { ip, headers: auth })).statusCode, 204);
    });
    assert.deepEqual(changed, { n: 1 });
    assert.deepEqual([last('password.changed').user_id, last('password.changed').session_id, last('password.changed').count], [sub, sid, 1]);

    const admin = { authorization: `Bearer ${ADMIN}` };
    const disabled = await deltas(m, { n: ['meridian_admin_actions_total', { action: 'user_disabled' }] }, async () => {
      assert.equal(
        (await t.app.inject({ method: 'POST', url: `/admin/v1/users/${sub}/disable`, headers: { ...admin, 'x-request-id': 'req-admin' } })).statusCode,
        204,
      );
    });
    assert.deepEqual(disabled, { n: 1 });
    const a = last('admin.action');
    assert.deepEqual([a.actor, a.action, a.user_id, a.count, a.request_id, a.outcome], ['admin', 'user_disabled', sub, 1, 'req-admin', 'success']);
  });

  it('each request is one access line with its id, path and status, never its query string', async () => {
    const secret = 'query-secret-that-must-not-be-logged';
    const res = await send(
      `/v1/auth/login?password=${secret}`,
      { username: 'nobody-here', password: 'also wrong but long' },
      { requestId: 'req-access', ip: '10.20.30.40' },
    );
    assert.equal(res.statusCode, 400);
    const lines = t.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.reqId === 'req-access' || l.request_id === 'req-access');
    const access = lines.filter((l) => l.msg === 'request completed');
    assert.equal(access.length, 1);
    assert.deepEqual([access[0]!.method, access[0]!.path, access[0]!.statusCode, access[0]!.remoteAddress], ['POST', '/v1/auth/login', 400, '10.20.30.40']);
    assert.equal(typeof access[0]!.responseTime, 'number');
    // Besides it: the audit event and the refusal, nothing else (Fastify's own request lines are off).
    assert.deepEqual(lines.map((l) => l.msg).sort(), ['login.failed', 'request completed', 'request refused']);
    issued.push(secret);
  });

  it('a request whose client goes away before the answer still gets its line', async () => {
    const s = await startTestServer();
    try {
      const { port } = new URL(s.url);
      // Headers and half a body, then the client is gone: the answer never comes.
      await new Promise<void>((resolve, reject) => {
        const socket = connect(Number(port), '127.0.0.1', () => {
          socket.write(
            'POST /v1/auth/login?secret=abandoned HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 64\r\nx-request-id: req-gone\r\n\r\n{"user',
          );
          setTimeout(() => socket.destroy(), 50);
        });
        socket.on('close', () => resolve());
        socket.on('error', reject);
      });
      const line = async () => s.logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.reqId === 'req-gone' && l.msg === 'request aborted');
      const gone = await eventually(line, 5000, 'the aborted request logged');
      // No address: the socket is gone before anything asked it for one.
      assert.deepEqual([gone?.method, gone?.path], ['POST', '/v1/auth/login']);
      assertAbsent(s.logs.join('\n'), ['abandoned']);
    } finally {
      await s.close();
    }
  });

  it('every audit line has the common fields and no secret is logged', async () => {
    const lines = t.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.audit === true);
    // A single region applies nothing from peers: audit-sources.test.ts checks replication.applied.
    const elsewhere = ['replication.applied'];
    assert.deepEqual(new Set(lines.map((l) => l.event)), new Set(AUDIT_EVENTS.filter((e) => !elsewhere.includes(e))));
    for (const l of lines) {
      for (const field of ['event', 'region', 'outcome', 'user_id', 'session_id', 'request_id']) assert.ok(field in l, `${l.event} lacks ${field}`);
      assert.equal(l.region, REGION);
    }
    const hashes = await t.db.query<{ password_hash: string }>('SELECT password_hash FROM users');
    assert.ok(hashes.rows.length > 0);
    const secrets = [
      ...passwords,
      ...issued,
      // A refresh token's MAC alone is the secret part of it.
      ...issued.map((token) => token.split('.').at(-1)!),
      ...hashes.rows.map((r) => r.password_hash),
      // The salt and digest alone, in case a hash were logged in parts.
      ...hashes.rows.flatMap((r) => r.password_hash.split('$').slice(-2)),
    ];
    assertAbsent(t.logs.join('\n'), secrets);
  });
});
