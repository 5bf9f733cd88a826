import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { checkPassword } from '../src/auth/credentials.js';
import { isAppError } from '../src/errors.js';
import { createTestApp, json, PASSWORD, post, type TestApp } from './helpers.js';

/** A fixed string that looks random: base64url of a SHA-256 chain. */
function pseudoRandom(length: number, seed: string): string {
  let out = '';
  for (let block = seed; out.length < length; ) {
    block = createHash('sha256').update(block).digest('base64url');
    out += block;
  }
  return out.slice(0, length);
}

describe('password policy (NIST SP 800-63B-4 §3.1.1.2)', () => {
  let t: TestApp;
  let n = 0;
  before(async () => {
    t = await createTestApp();
  });
  after(() => t.close());

  const registerAs = (password: string, username = `policy-${++n}`) => post(t.app, '/v1/auth/register', { username, password });

  async function assertRefused(password: string, rule: RegExp, username?: string) {
    const res = await registerAs(password, username);
    assert.equal(res.statusCode, 400, password);
    const body = json<{ error: string; error_description: string }>(res);
    assert.equal(body.error, 'weak_password', password);
    assert.match(body.error_description, rule, password);
    assert.ok(!body.error_description.includes(password), 'the description quotes the password');
  }

  it('refuses repetitive and sequential strings, keyboard walks and common passwords, naming the rule', async () => {
    await assertRefused('password1234567', /common passwords or dictionary words/);
    await assertRefused('123456789012345', /sequence/);
    await assertRefused('aaaaaaaaaaaaaaa', /repetitive/);
    await assertRefused('abcdefghijklmno', /sequence/);
    await assertRefused('qwertyuiopasdfgh', /keyboard pattern/);
    await assertRefused('zxcvbnmasdfghjkl', /keyboard pattern/);
    await assertRefused('iloveyouiloveyou', /repetitive/);
  });

  it('refuses a dictionary word padded with digits', async () => {
    await assertRefused('sunshine12345678', /common passwords or dictionary words/);
    await assertRefused('Dragon1234567890', /common passwords or dictionary words/);
  });

  it('refuses passwords built from the username or the service name', async () => {
    await assertRefused('alice-alice-alice1', /username/, 'alice');
    await assertRefused('Bob.Builder.2024!', /username/, 'bob.builder');
    await assertRefused('meridianmeridian1', /service name/);
    await assertRefused('meridian-password-2024', /service name/);
  });

  it('accepts passphrases and random strings', async () => {
    const good = [PASSWORD, 'purple monkey dishwasher', 'dragonfly jazz mosaic', 'Ümlaut ñandú café straße', 'k3jd8fh2nx9qpl4m', 'Xk9#mQ2vL7pR4tWz', pseudoRandom(15, 'a'), pseudoRandom(40, 'b')];
    for (const password of good) assert.equal((await registerAs(password)).statusCode, 201, password);
    // A username inside a strong passphrase leaves it strong.
    assert.equal((await registerAs(PASSWORD, 'horse')).statusCode, 201);
  });

  it('judges 1024-character passwords on a bounded part, without hanging', async () => {
    assert.equal((await registerAs(pseudoRandom(1024, 'c'))).statusCode, 201);
    assert.equal((await registerAs(`${PASSWORD} ${'a'.repeat(995)}`)).statusCode, 201);
    await assertRefused('a'.repeat(1024), /repetitive/);
    await assertRefused('1234567890'.repeat(103).slice(0, 1024), /repetitive|sequence/);
  });

  it('with a minimum of 8, a short random string is left to the length rule; patterns are still refused', () => {
    const policy = { minLength: 8, maxLength: 1024 };
    assert.equal(checkPassword('Xk9#mQ2v', policy), 'Xk9#mQ2v');
    assert.throws(() => checkPassword('abcd1234', policy), (err: unknown) => isAppError(err, 'weak_password'));
  });
});
