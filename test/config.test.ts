import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../src/config/load.js';
import { FIELDS } from '../src/config/schema.js';

describe('configuration', () => {
  it('has working defaults with no environment at all', () => {
    const c = loadConfig({});
    assert.equal(c.port, 8080);
    assert.equal(c.region, 'local');
    assert.equal(c.dataDir, './.meridian');
    assert.equal(c.databaseUrl, undefined);
    assert.equal(c.accessTokenTtl, 600);
    assert.equal(c.refreshTokenTtl, 30 * 86400);
    assert.equal(c.refreshGraceSeconds, 10);
    assert.equal(c.passwordMinLength, 15);
    assert.equal(c.signingAlg, 'ES256');
    assert.equal(c.bodyLimit, 16384);
    assert.equal(c.issuer, 'http://127.0.0.1:8080');
    assert.equal(c.oauthPasswordGrant, true, 'the password grant API.md promises');
    assert.ok(Object.isFrozen(c));
  });

  it('reads every documented variable', () => {
    const c = loadConfig({ PORT: '9000', MERIDIAN_REGION: 'eu-west', MERIDIAN_SIGNING_ALG: 'EdDSA', MERIDIAN_PASSWORD_MIN_LENGTH: '8', MERIDIAN_TRUST_PROXY: 'true', MERIDIAN_OAUTH_PASSWORD_GRANT: 'false' });
    assert.equal(c.port, 9000);
    assert.equal(c.region, 'eu-west');
    assert.equal(c.signingAlg, 'EdDSA');
    assert.equal(c.passwordMinLength, 8);
    assert.equal(c.trustProxy, true);
    assert.equal(c.oauthPasswordGrant, false);
    assert.equal(c.issuer, 'http://127.0.0.1:9000');
  });

  it('stops on a bad value with a message naming the variable', () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ PORT: 'eighty' }, /PORT must be a whole number/],
      [{ PORT: '70000' }, /PORT must be between/],
      [{ MERIDIAN_SIGNING_ALG: 'HS256' }, /MERIDIAN_SIGNING_ALG must be one of ES256, EdDSA, RS256/],
      [{ MERIDIAN_PASSWORD_MIN_LENGTH: '6' }, /MERIDIAN_PASSWORD_MIN_LENGTH must be between 8/],
      [{ MERIDIAN_REGION: 'EU West' }, /MERIDIAN_REGION is invalid/],
      [{ DATABASE_URL: 'not a url' }, /DATABASE_URL must be a URL/],
      [{ MERIDIAN_MASTER_KEY: 'short' }, /MERIDIAN_MASTER_KEY is invalid: 32 bytes/],
      [{ MERIDIAN_TRUST_PROXY: 'maybe' }, /MERIDIAN_TRUST_PROXY must be true or false/],
      [{ MERIDIAN_REFRESH_TOKEN_TTL: '3600', MERIDIAN_REFRESH_IDLE_TTL: '7200' }, /MERIDIAN_REFRESH_IDLE_TTL must not exceed/],
    ];
    for (const [env, message] of cases) assert.throws(() => loadConfig(env), (e: unknown) => e instanceof ConfigError && message.test(e.message), JSON.stringify(env));
  });

  it("README's table lists every variable of the schema", () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const missing = Object.values(FIELDS).filter((f) => !readme.includes(`| \`${f.env}\` |`));
    assert.deepEqual(missing.map((f) => f.env), []);
  });
});
