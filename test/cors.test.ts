import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createTestApp } from './helpers.js';

describe('CORS', () => {
  it('answers preflights for configured origins only, and none at all by default', async () => {
    const preflight = {
      method: 'OPTIONS' as const,
      url: '/v1/auth/login',
      headers: { 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    };
    const on = await createTestApp({ backend: 'pglite', env: { MERIDIAN_CORS_ORIGINS: 'https://app.example.com, https://admin.example.com' } });
    const off = await createTestApp({ backend: 'pglite' });
    try {
      const allowed = await on.app.inject({ ...preflight, headers: { ...preflight.headers, origin: 'https://app.example.com' } });
      assert.equal(allowed.statusCode, 204);
      assert.equal(allowed.headers['access-control-allow-origin'], 'https://app.example.com');
      const other = await on.app.inject({ ...preflight, headers: { ...preflight.headers, origin: 'https://evil.example.com' } });
      assert.equal(other.headers['access-control-allow-origin'], undefined);
      const none = await off.app.inject({ ...preflight, headers: { ...preflight.headers, origin: 'https://app.example.com' } });
      assert.equal(none.headers['access-control-allow-origin'], undefined);
    } finally {
      await on.close();
      await off.close();
    }
  });
});
