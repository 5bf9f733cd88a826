/** The queue dashboard: off without an admin token, and only for its bearer when on. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestApp, json, REDIS_URL, type TestApp } from './helpers.js';
import { testPrefix } from './redis-server.js';

const ADMIN = 'admin-token-for-tests-0123456789';

describe('queue dashboard', () => {
  let on: TestApp;
  let off: TestApp;
  before(async () => {
    const prefix = testPrefix('admin');
    on = await createTestApp({ env: { REDIS_URL, MERIDIAN_REDIS_PREFIX: prefix, MERIDIAN_ADMIN_TOKEN: ADMIN } });
    off = await createTestApp({ databaseUrl: on.config.databaseUrl, env: { REDIS_URL, MERIDIAN_REDIS_PREFIX: prefix } });
  });
  after(async () => {
    await off.close();
    await on.close();
  });

  it('does not exist without MERIDIAN_ADMIN_TOKEN', async () => {
    const res = await off.app.inject({ url: '/admin/queues', headers: { authorization: `Bearer ${ADMIN}` } });
    assert.equal(res.statusCode, 404);
  });

  it('refuses requests without the admin token, with 401 invalid_token', async () => {
    for (const headers of [{}, { authorization: 'Bearer not-the-admin-token-at-all' }, { authorization: ADMIN }]) {
      for (const url of ['/admin/queues', '/admin/queues/api/queues']) {
        const res = await on.app.inject({ url, headers });
        assert.equal(res.statusCode, 401, `${url} ${JSON.stringify(headers)}`);
        assert.equal(json(res).error, 'invalid_token');
      }
    }
  });

  it('shows the queues to the bearer of the admin token', async () => {
    const auth = { authorization: `Bearer ${ADMIN}` };
    const page = await on.app.inject({ url: '/admin/queues', headers: auth });
    assert.equal(page.statusCode, 200);
    assert.match(String(page.headers['content-type']), /text\/html/);
    const api = await on.app.inject({ url: '/admin/queues/api/queues', headers: auth });
    assert.equal(api.statusCode, 200);
    const names = json<{ queues: { name: string }[] }>(api)
      .queues.map((q) => q.name)
      .sort();
    assert.deepEqual(names, ['cache-sync', 'maintenance']);
  });
});
