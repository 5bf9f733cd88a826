import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { ConfigError, describeConfig, loadConfig } from '../src/config/load.js';
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

  it('derives the issuer from PORT when MERIDIAN_ISSUER is unset', () => {
    const c = loadConfig({
      PORT: '9000',
      MERIDIAN_REGION: 'eu-west',
      MERIDIAN_SIGNING_ALG: 'EdDSA',
      MERIDIAN_PASSWORD_MIN_LENGTH: '8',
      MERIDIAN_TRUST_PROXY: 'true',
    });
    assert.equal(c.port, 9000);
    assert.equal(c.region, 'eu-west');
    assert.equal(c.signingAlg, 'EdDSA');
    assert.equal(c.passwordMinLength, 8);
    assert.equal(c.trustProxy, true);
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
      [{ DATABASE_URL: 'mysql://db/meridian' }, /DATABASE_URL must be a URL with scheme postgres or postgresql or memory/],
      [{ REDIS_URL: 'http://127.0.0.1:6379' }, /REDIS_URL must be a URL with scheme redis or rediss or redis\+sentinel or redis\+cluster or unix/],
      // Upper case would pass a check of the parsed URL, then be taken for another kind (drivers compare as written).
      [{ DATABASE_URL: 'POSTGRES://u@db.example/meridian' }, /DATABASE_URL must be a URL with scheme .* \(in lower case\)/],
      [{ DATABASE_URL: 'MEMORY://' }, /DATABASE_URL must be a URL with scheme/],
      [{ REDIS_URL: 'REDIS+CLUSTER://n1:7000,n2:7001' }, /REDIS_URL must be a URL with scheme/],
      [{ REDIS_URL: 'Redis+Sentinel://s1:26379,s2:26379/m' }, /REDIS_URL must be a URL with scheme/],
      [{ MERIDIAN_MASTER_KEY: 'short' }, /MERIDIAN_MASTER_KEY is invalid: 32 bytes/],
      [{ MERIDIAN_TRUST_PROXY: 'maybe' }, /MERIDIAN_TRUST_PROXY must be true or false/],
      [{ MERIDIAN_REFRESH_TOKEN_TTL: '3600', MERIDIAN_REFRESH_IDLE_TTL: '7200' }, /MERIDIAN_REFRESH_IDLE_TTL must not exceed/],
    ];
    for (const [env, message] of cases)
      assert.throws(
        () => loadConfig(env),
        (e: unknown) => e instanceof ConfigError && message.test(e.message),
        JSON.stringify(env),
      );
  });
});

type Field = (typeof FIELDS)[keyof typeof FIELDS];
type Key = keyof typeof FIELDS;
const KEYS = Object.keys(FIELDS) as Key[];
const fieldOf = (key: Key): Field => FIELDS[key];
const defaultOf = (key: Key): unknown => ('default' in fieldOf(key) ? (fieldOf(key) as { default: unknown }).default : undefined);

/** Candidates for string settings with a pattern; each pattern takes at least one. */
const STRING_SAMPLES = ['eu-west-2', 'k'.repeat(43), 's1=postgres://127.0.0.1:5432/shard1 s2=postgres://127.0.0.1:5432/shard2'];

/** A value of the field's type, not its default, and an expected parse; all of them load together. */
function validSample(key: Key): { raw: string; value: unknown } {
  const kind = fieldOf(key).kind;
  const d = defaultOf(key);
  switch (kind.type) {
    case 'int': {
      const n = typeof d === 'number' && d < kind.max ? d + 1 : kind.max - 1;
      return { raw: String(n), value: n };
    }
    case 'bool':
      return { raw: String(!d), value: !d };
    case 'enum': {
      const v = kind.values.find((x) => x !== d) as string;
      return { raw: v, value: v };
    }
    case 'origins':
      return { raw: 'https://a.example, https://b.example:8443', value: ['https://a.example', 'https://b.example:8443'] };
    case 'url': {
      const scheme = 'schemes' in kind && kind.schemes ? kind.schemes[0] : 'https';
      return { raw: `${scheme}://sample.example/x`, value: `${scheme}://sample.example/x` };
    }
    case 'string': {
      const pattern = 'pattern' in kind ? kind.pattern : undefined;
      const v = pattern ? STRING_SAMPLES.find((s) => pattern.test(s)) : `${key}-sample`;
      assert.ok(v, `no sample matches the pattern of ${fieldOf(key).env}`);
      return { raw: v, value: v };
    }
  }
}

/** Values the field's type refuses, each with the message it must give; none for a free string. */
function invalidSamples(key: Key): { raw: string; message: RegExp }[] {
  const kind = fieldOf(key).kind;
  const env = fieldOf(key).env;
  switch (kind.type) {
    case 'int':
      return [
        { raw: 'ten', message: new RegExp(`^${env} must be a whole number`) },
        { raw: String(kind.max + 1), message: new RegExp(`^${env} must be between ${kind.min} and ${kind.max}`) },
        ...(kind.min > 0 ? [{ raw: String(kind.min - 1), message: new RegExp(`^${env} must be between`) }] : []),
      ];
    case 'bool':
      return [{ raw: 'maybe', message: new RegExp(`^${env} must be true or false`) }];
    case 'enum':
      return [{ raw: 'none-of-these', message: new RegExp(`^${env} must be one of ${kind.values.join(', ')}`) }];
    case 'origins':
      return [{ raw: 'https://a.example/path', message: new RegExp(`^${env} must list origins`) }];
    case 'url':
      return [
        { raw: 'not a url', message: new RegExp(`^${env} must be a URL`) },
        ...('schemes' in kind && kind.schemes ? [{ raw: 'gopher://sample.example/x', message: new RegExp(`^${env} must be a URL with scheme `) }] : []),
      ];
    case 'string':
      return 'pattern' in kind ? [{ raw: 'has a space', message: new RegExp(`^${env} is invalid: `) }] : [];
  }
}

const validEnv = (): Record<string, string> => Object.fromEntries(KEYS.map((k) => [fieldOf(k).env, validSample(k).raw]));

describe('configuration, every variable of the schema', () => {
  it('reads a valid value of every variable into the config', () => {
    const c = loadConfig(validEnv());
    for (const key of KEYS) {
      const { value } = validSample(key);
      assert.notDeepEqual(value, defaultOf(key), `${fieldOf(key).env}: the sample must not be the default`);
      assert.deepEqual(c[key], value, fieldOf(key).env);
    }
  });

  it('stops on an invalid value of any variable whose type refuses one, naming it', () => {
    for (const key of KEYS) {
      for (const { raw, message } of invalidSamples(key)) {
        const env = { ...validEnv(), [fieldOf(key).env]: raw };
        assert.throws(
          () => loadConfig(env),
          (e: unknown) => e instanceof ConfigError && message.test(e.message),
          `${fieldOf(key).env}=${raw}`,
        );
      }
    }
  });
});

/** The rows of the README's configuration table: variable and default as written. */
function readmeConfigRows(): Map<string, string> {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const section = readme.slice(readme.indexOf('\n## Configuration\n'), readme.indexOf('\n## ', readme.indexOf('\n## Configuration\n') + 1));
  const rows = new Map<string, string>();
  for (const line of section.split('\n')) {
    const m = /^\| `([A-Z0-9_]+)` \| ([^|]+) \|/.exec(line);
    if (m) {
      assert.ok(!rows.has(m[1] as string), `${m[1]} is listed twice`);
      rows.set(m[1] as string, (m[2] as string).trim().replace(/^`(.*)`$/, '$1'));
    }
  }
  return rows;
}

/** A default as the README writes it: "(unset)" for none or an empty list, a derived one with its inputs named. */
function documentedDefault(key: Key): string {
  const d = defaultOf(key);
  if (d === undefined || (Array.isArray(d) && d.length === 0)) return '(unset)';
  if (typeof d === 'function') return String(d({ host: 'HOST', port: 'PORT' }));
  return String(d);
}

describe('the README configuration table', () => {
  it('lists every variable `meridian config` prints, with its default, and nothing else', () => {
    const rows = readmeConfigRows();
    const printed = [...describeConfig().matchAll(/^\| `([A-Z0-9_]+)` \|/gm)].map((m) => m[1]);
    assert.deepEqual([...rows.keys()].sort(), [...printed].sort());
    assert.deepEqual([...printed].sort(), KEYS.map((k) => fieldOf(k).env).sort());
    for (const key of KEYS) assert.equal(rows.get(fieldOf(key).env), documentedDefault(key), `default of ${fieldOf(key).env}`);
  });
});
