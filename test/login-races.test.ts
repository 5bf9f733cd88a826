/**
 * A login whose password check is still running when the account changes
 * (a password change or a disable commits in between) must not leave a
 * session behind: the session is made only while the user is as the login
 * checked it. The check is held open deterministically: the real hasher,
 * with a gate the test opens after the change has been answered.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PasswordHasher } from '../src/auth/passwords.js';
import { BACKENDS, bearer, createTestApp, json, login, PASSWORD, post, type TestApp } from './helpers.js';

/** The real argon2id hasher; `holdNext` makes the next verification wait, after it has run, until released. */
class GatedHasher extends PasswordHasher {
  private gate: Promise<void> | undefined;
  private entered: (() => void) | undefined;
  release: () => void = () => {};

  /** Resolves once the held verification has computed its answer (and waits at the gate). */
  holdNext(): Promise<void> {
    this.gate = new Promise((resolve) => {
      this.release = resolve;
    });
    return new Promise((resolve) => {
      this.entered = resolve;
    });
  }

  override async verify(passwordHash: string, password: string): Promise<boolean> {
    const ok = await super.verify(passwordHash, password);
    const gate = this.gate;
    if (gate) {
      this.gate = undefined;
      this.entered?.();
      await gate;
    }
    return ok;
  }
}

const ADMIN = 'admin-token-for-login-races';

for (const backend of BACKENDS) {
  describe(`a login racing an account change (${backend})`, () => {
    const hasher = new GatedHasher();
    let t: TestApp;
    before(async () => {
      t = await createTestApp({ backend, env: { MERIDIAN_ADMIN_TOKEN: ADMIN }, services: { hasher } });
    });
    after(() => t.close());

    it('a login checked against the old password gets no session once the change has been answered', async () => {
      const first = await login(t.app, 'race-password');
      const held = hasher.holdNext();
      const racing = post(t.app, '/v1/auth/login', { username: 'race-password', password: PASSWORD });
      await held;
      const changed = await post(
        t.app,
        '/v1/auth/password',
        { current_password: PASSWORD, new_password: 'a brand new passphrase, long enough' },
        bearer(first.access_token),
      );
      assert.equal(changed.statusCode, 204);
      hasher.release();
      const res = await racing;
      assert.equal(res.statusCode, 400, res.body);
      assert.equal(json(res).error, 'invalid_grant');
    });

    it('a login of an account disabled while its password was checked gets no session', async () => {
      await login(t.app, 'race-disable');
      const id = (await t.db.query<{ id: string }>("SELECT id FROM users WHERE username = 'race-disable'")).rows[0]!.id;
      const held = hasher.holdNext();
      const racing = post(t.app, '/v1/auth/login', { username: 'race-disable', password: PASSWORD });
      await held;
      const disabled = await post(t.app, `/admin/v1/users/${id}/disable`, undefined, bearer(ADMIN));
      assert.equal(disabled.statusCode, 204, disabled.body);
      hasher.release();
      const res = await racing;
      assert.equal(res.statusCode, 400, res.body);
      const live = await t.db.query('SELECT id FROM sessions WHERE user_id = $1 AND revoked_at IS NULL', [id]);
      assert.equal(live.rows.length, 0, 'no live session of the disabled account');
    });
  });
}
