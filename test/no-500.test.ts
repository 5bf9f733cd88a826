/**
 * Throws a spread of hostile requests at every endpoint a client or another
 * region can reach, on PostgreSQL and PGlite: none may produce a 5xx. The app
 * runs a one-region topology, so the /internal/v1 routes exist and are fuzzed
 * with the region secret as well as without it.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BACKENDS, login, PASSWORD, PG_SERVER, REDIS_URL, startTestServer, type TestServer } from './helpers.js';

const REGION = 'solo';
const SECRET = randomBytes(32).toString('base64url');
const INTROSPECTION_TOKEN = randomBytes(24).toString('base64url');
const ADMIN_TOKEN = randomBytes(24).toString('base64url');

/** A topology of this region alone, keeping the username directory, so every /internal/v1 route is registered. */
function topologyFile(dir: string): string {
  const file = join(dir, 'regions.json');
  const region = { id: REGION, location: { lat: 0, lon: 0 }, url: 'http://127.0.0.1:9', databaseUrl: PG_SERVER, redisUrl: REDIS_URL, peers: [] };
  writeFileSync(file, JSON.stringify({ directory: REGION, regions: [region] }));
  return file;
}

const JSON_PAYLOADS: (string | undefined)[] = [
  undefined,
  '',
  'null',
  '[]',
  '"x"',
  '1e309',
  '{"__proto__":{"admin":true}}',
  '{"constructor":{"prototype":{"x":1}}}',
  '{"username":"\\u0000\\u0000\\u0000","password":"\\ud800\\ud800\\ud800\\ud800\\ud800\\ud800\\ud800\\ud800"}',
  `{"username":"a\\u0301\\u0301\\u0301","password":"${'x'.repeat(16)}"}`,
  `{"refresh_token":"local.${'/'.repeat(43)}"}`,
  '{"refresh_token":{"$ne":null}}',
  `{"all_sessions":true,"refresh_token":"${'z'.repeat(1024)}"}`,
  `{"username":"ok-name","password":"${'\\u00e9'.repeat(1100)}"}`,
  `{${'"a":1,'.repeat(2000)}"b":2}`,
  '['.repeat(5000) + ']'.repeat(5000),
  '{"grant_type":"refresh_token","refresh_token":["a","b"]}',
  `{"token":"${'a.'.repeat(600)}","token_type_hint":"access_token"}`,
  '{"origin":"solo","events":[]}',
  '{"origin":"elsewhere","events":[{"id":"e","kind":"revoked","at":-1,"tokens":[],"revocation":{"sessionId":"s","userId":"u","revokedAt":1e309,"reason":"x"}}]}',
  '{"username_normalized":"fuzzed","user_id":"u","home_region":"EU"}',
  `{"user_id":"u","session_id":"${'s'.repeat(200)}","all_sessions":"yes"}`,
  `{"user_id":"u","session_id":"s","current_password":"\\ud800\\ud800","new_password":"${'\\u0000'.repeat(20)}"}`,
  `{"current_password":"${'x'.repeat(8192)}","new_password":"${'\\u00e9'.repeat(1100)}"}`,
];
const FORM_PAYLOADS = [
  `grant_type=password&username=fuzzed&password=${encodeURIComponent('not the password, long enough')}`,
  `grant_type=refresh_token&refresh_token=local.${'A'.repeat(43)}`,
  'grant_type=client_credentials&grant_type=password',
  'token=%ZZ&token_type_hint=refresh_token',
  'token=&token_type_hint[]=x',
  `=&&==&${'k=v&'.repeat(3000)}`,
];
const TYPES = [
  'application/json',
  'application/json; charset=latin1',
  'application/x-www-form-urlencoded',
  'text/plain',
  'application/octet-stream',
  'multipart/form-data; boundary=x',
  '',
];
const ROUTES: [method: string, url: string][] = [
  ['POST', '/v1/auth/register'],
  ['POST', '/v1/auth/login'],
  ['POST', '/v1/auth/refresh'],
  ['POST', '/v1/auth/logout'],
  ['GET', '/v1/auth/me'],
  ['DELETE', '/v1/auth/me'],
  ['GET', '/v1/auth/sessions'],
  ['DELETE', '/v1/auth/sessions'],
  ['DELETE', '/v1/auth/sessions/not-a-session'],
  ['POST', '/v1/auth/password'],
  ['GET', '/admin/v1/users?username=fuzzed&id=x'],
  ['GET', '/admin/v1/users/not-a-user'],
  ['POST', '/admin/v1/users/not-a-user/disable'],
  ['DELETE', '/admin/v1/users/not-a-user/sessions'],
  ['DELETE', '/admin/v1/users/not-a-user'],
  ['GET', '/.well-known/jwks.json'],
  ['POST', '/oauth/token'],
  ['POST', '/oauth/revoke'],
  ['POST', '/oauth/introspect'],
  ['GET', '/v1/revocations'],
  ['GET', '/internal/v1/keys'],
  ['POST', '/internal/v1/login'],
  ['POST', '/internal/v1/logout'],
  ['POST', '/internal/v1/sessions'],
  ['POST', '/internal/v1/password'],
  ['POST', '/internal/v1/replication'],
  ['POST', '/internal/v1/usernames/claim'],
  ['POST', '/internal/v1/usernames/find'],
  ['POST', '/internal/v1/usernames/release'],
];
const CURSORS = ['', '0', '-1', '1e309', '0x10', 'abc', '9'.repeat(40), '%00', '1&since=2', '1%20OR%201=1'];

for (const backend of BACKENDS) {
  describe(`no input a client can send produces a 500 (${backend})`, () => {
    let s: TestServer;
    let dir: string;
    let payloads: (string | undefined)[];
    let auths: (string | undefined)[];
    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'meridian-no-500-'));
      s = await startTestServer({
        backend,
        env: {
          MERIDIAN_REGION: REGION,
          MERIDIAN_REGIONS_FILE: topologyFile(dir),
          MERIDIAN_REGION_SECRET: SECRET,
          MERIDIAN_INTROSPECTION_TOKEN: INTROSPECTION_TOKEN,
          MERIDIAN_ADMIN_TOKEN: ADMIN_TOKEN,
        },
      });
      const tokens = await login(s.app, 'fuzzed');
      payloads = [
        ...JSON_PAYLOADS,
        ...FORM_PAYLOADS,
        `token=${tokens.access_token}&token_type_hint=refresh_token`,
        JSON.stringify({ grant_type: 'password', username: 'fuzzed', password: PASSWORD, scope: '\u0000' }),
      ];
      auths = [
        undefined,
        `Bearer ${tokens.access_token}`,
        'Bearer \u0000',
        'Bearer a.b.c',
        `Bearer ${INTROSPECTION_TOKEN}`,
        `Bearer ${SECRET}`,
        `Bearer ${ADMIN_TOKEN}`,
        `Basic ${Buffer.from(':').toString('base64')}`,
      ];
    });
    after(async () => {
      await s.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('answers every route with a JSON 4xx or a success, for every pair of payload and content type and of payload and credential', async () => {
      // Every (payload, type) and every (payload, credential) pair, the third value cycling: the full product would be ten times as long.
      /** What each route answered to a service credential (the region secret or the introspection token). */
      const statuses = new Map<string, Set<number>>();
      for (const [method, url] of ROUTES) {
        const cases: [string | undefined, string, string | undefined][] = [];
        for (const [i, p] of payloads.entries()) {
          for (const [j, type] of TYPES.entries()) cases.push([p, type, auths[(i + j) % auths.length]]);
          for (const [j, auth] of auths.entries()) cases.push([p, TYPES[(i + j) % TYPES.length] as string, auth]);
        }
        for (const [payload, type, auth] of cases) {
          const headers: Record<string, string> = {};
          if (type) headers['content-type'] = type;
          if (auth) headers.authorization = auth;
          const res = await s.app.inject({ method: method as 'POST', url, headers, payload });
          const what = `${method} ${url} ${type} ${auth?.slice(0, 12)} ${payload?.slice(0, 40)}`;
          assert.ok(res.statusCode < 500, `${what} -> ${res.statusCode} ${res.body}`);
          if (res.statusCode >= 400) assert.ok(JSON.parse(res.body).error, `${what}: ${res.body}`);
          if (auth === `Bearer ${SECRET}` || auth === `Bearer ${INTROSPECTION_TOKEN}`) statuses.set(url, (statuses.get(url) ?? new Set()).add(res.statusCode));
        }
      }
      // The credentials got past the door: with the region secret the internal routes answered other than 401, and so did introspection with its token.
      for (const [, url] of ROUTES.filter(([, u]) => u.startsWith('/internal/') || u === '/oauth/introspect')) {
        const codes = [...(statuses.get(url) ?? [])];
        assert.ok(
          codes.some((code) => code !== 401),
          `${url} with its credential: ${codes}`,
        );
      }
    });

    it('the revocation page and its event stream answer hostile cursors with a JSON 4xx or a stream that starts', async () => {
      for (const path of ['/v1/revocations', '/v1/revocations/stream']) {
        for (const cursor of CURSORS) {
          for (const headers of [{}, { 'last-event-id': cursor }, { 'last-event-id': '\u00ff'.repeat(300) }] as Record<string, string>[]) {
            const abort = new AbortController();
            const res = await fetch(`${s.url}${path}?since=${cursor}`, { headers, signal: abort.signal });
            const what = `${path}?since=${cursor} ${JSON.stringify(headers).slice(0, 40)}`;
            assert.ok(res.status < 500, `${what} -> ${res.status}`);
            if (res.status >= 400) assert.ok(((await res.json()) as { error?: string }).error, what);
            else if (path.endsWith('/stream')) {
              // Bounded: the first event (a revocation since the cursor, or the heartbeat sent at once) is enough; then the client goes away.
              const first = await res.body!.getReader().read();
              assert.match(new TextDecoder().decode(first.value), /^(id: \d+\n)?event: (revoked|heartbeat)\n/, what);
              abort.abort();
            } else await res.json();
          }
        }
      }
    });
  });
}
