import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestApp, login, type TestApp } from './helpers.js';

/** Throws a spread of hostile requests at every endpoint: none may produce a 5xx. */
describe('no input a client can send produces a 500', () => {
  let t: TestApp;
  let access: string;
  before(async () => {
    t = await createTestApp({ backend: 'pglite' });
    access = (await login(t.app, 'fuzzed')).access_token;
  });
  after(() => t.close());

  const payloads: (string | undefined)[] = [
    undefined,
    '',
    'null',
    '[]',
    '"x"',
    '1e309',
    '{"__proto__":{"admin":true}}',
    '{"constructor":{"prototype":{"x":1}}}',
    '{"username":"\\u0000\\u0000\\u0000","password":"\\ud800\\ud800\\ud800\\ud800\\ud800\\ud800\\ud800\\ud800"}',
    '{"username":"a\\u0301\\u0301\\u0301","password":"' + 'x'.repeat(16) + '"}',
    '{"refresh_token":"local.' + '/'.repeat(43) + '"}',
    '{"refresh_token":{"$ne":null}}',
    '{"all_sessions":true,"refresh_token":"' + 'z'.repeat(1024) + '"}',
    '{"username":"ok-name","password":"' + '\\u00e9'.repeat(1100) + '"}',
    '{' + '"a":1,'.repeat(2000) + '"b":2}',
    '[' .repeat(5000) + ']'.repeat(5000),
  ];
  const types = ['application/json', 'application/json; charset=latin1', 'text/plain', 'application/octet-stream', 'multipart/form-data; boundary=x', ''];
  const routes: [string, string][] = [
    ['POST', '/v1/auth/register'],
    ['POST', '/v1/auth/login'],
    ['POST', '/v1/auth/refresh'],
    ['POST', '/v1/auth/logout'],
    ['GET', '/v1/auth/me'],
    ['DELETE', '/v1/auth/me'],
    ['GET', '/.well-known/jwks.json'],
  ];

  it('answers every combination with a JSON 4xx or a success', async () => {
    let n = 0;
    for (const [method, url] of routes) {
      for (const payload of payloads) {
        for (const type of types) {
          for (const auth of [undefined, `Bearer ${access}`, 'Bearer \u0000', 'Bearer a.b.c']) {
            const headers: Record<string, string> = {};
            if (type) headers['content-type'] = type;
            if (auth) headers.authorization = auth;
            const res = await t.app.inject({ method: method as 'POST', url, headers, payload });
            n++;
            assert.ok(res.statusCode < 500, `${method} ${url} ${type} ${payload?.slice(0, 40)} -> ${res.statusCode} ${res.body}`);
            if (res.statusCode >= 400) assert.ok(JSON.parse(res.body).error, res.body);
          }
        }
      }
    }
    assert.ok(n > 2000);
  });
});
