import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BACKENDS, bearer, createTestApp, json, login, type TestApp } from './helpers.js';

for (const backend of BACKENDS) {
  describe(`smoke (${backend})`, () => {
    let t: TestApp;
    before(async () => {
      t = await createTestApp({ backend });
    });
    after(() => t.close());

    it('logs in and reads /me', async () => {
      const tokens = await login(t.app, 'smoke');
      const me = await t.app.inject({ url: '/v1/auth/me', headers: bearer(tokens.access_token) });
      assert.equal(me.statusCode, 200);
      assert.equal(json(me).username, 'smoke');
    });
  });
}
