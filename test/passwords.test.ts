import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { isAppError } from '../src/errors.js';
import { HashPool } from '../src/auth/hash-pool.js';
import { PasswordHasher } from '../src/auth/passwords.js';

describe('password hashing threads', () => {
  const pool = new HashPool(1);
  const hasher = new PasswordHasher(undefined, pool);
  after(() => pool.close());

  it('hashes with argon2id at the required strength and verifies', async () => {
    const h = await hasher.hash('correct horse battery staple');
    assert.match(h, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    assert.equal(await hasher.verify(h, 'correct horse battery staple'), true);
    assert.equal(await hasher.verify(h, 'correct horse battery stapl'), false);
  });

  it('a corrupt stored hash is a failed login, not an error', async () => {
    assert.equal(await hasher.verify('$argon2id$v=19$garbage', 'whatever password'), false);
  });

  it('a hashing thread that dies fails its job as unavailable and is replaced', async () => {
    const slot = (pool as unknown as { workers: { worker: { terminate(): Promise<number> } }[] }).workers[0]!;
    const pending = hasher.verify(await hasher.hash('another long password'), 'another long password');
    await slot.worker.terminate();
    await assert.rejects(pending, (err: unknown) => isAppError(err, 'temporarily_unavailable'));
    assert.equal(await hasher.verify(await hasher.hash('after the restart'), 'after the restart'), true);
  });
});
