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

  it('refuses keyboard columns, interleaved runs and repeats with something between', async () => {
    await assertRefused('5tgb6yhn7ujm8ik,', /keyboard pattern/);
    await assertRefused('rfvtgbyhnujmikol', /keyboard pattern/);
    await assertRefused('1a2b3c4d5e6f7g8h', /sequence/);
    await assertRefused('aAbBcCdDeEfFgGhH', /sequence/);
    await assertRefused('Passw0rd!Passw0rd?', /repetitive/);
    await assertRefused('Welcome2024!Welcome', /repetitive/);
  });

  it('judges the password without separators and case too', async () => {
    await assertRefused('p-a-s-s-w-o-r-d-1-2', /common passwords or dictionary words/);
    await assertRefused('p a s s w o r d 1 2', /common passwords or dictionary words/);
    await assertRefused('a.l.i.c.e.1.2.3.4.5', /username/, 'alice');
    await assertRefused('M-E-R-I-D-I-A-N-1-2-3', /service name/, 'alice');
    await assertRefused('1234 5678 9012 3456', /sequence/);
    await assertRefused('2024-01-01 2024-12-31', /dates or years/);
    await assertRefused('01/01/2000 12/12/2012', /dates or years/);
  });

  it('accepts passphrases and random strings', async () => {
    const good = [
      PASSWORD,
      'Tr0ub4dor and 3 more words',
      'my-dog_is.named/Rex,really',
      'Xk9#mQ2vLp8wR4tZ',
      'Kx7.Wq2-Lm9_Zp4/Rt',
      'dragonfly jazz mosaic',
      'Ümlaut ñandú café straße',
      'k3jd8fh2nx9qpl4m',
      'Xk9#mQ2vL7pR4tWz',
      pseudoRandom(15, 'a'),
      pseudoRandom(40, 'b'),
    ];
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
    assert.throws(
      () => checkPassword('abcd1234', policy),
      (err: unknown) => isAppError(err, 'weak_password'),
    );
  });
});
