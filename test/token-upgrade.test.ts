/**
 * The upgrade to MAC refresh tokens (migration 018), with a database made by
 * the release before it and tokens issued by that release's own code: its
 * sources are taken from git at that commit and run as a server. Every
 * token it left outstanding refreshes once more on this build and continues
 * in the new format; the rules (grace retry, reuse, revocation) hold across
 * the change.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ManualClock } from '../src/util/runtime.js';
import { claimsOf, createDatabase, createTestApp, freePort, json, post, TEST_MASTER_KEY, type TestApp, type Tokens } from './helpers.js';
import { exited } from './worker-process.js';

/** The last release that issued previous-format refresh tokens. */
const RELEASE = 'bf63034';
const PASSWORD = 'an upgrade-proof passphrase';

/** The release's sources, from git, beside this checkout's dependencies (they are the same packages). */
function checkOutRelease(): string {
  const dir = mkdtempSync(join(tmpdir(), 'meridian-release-'));
  const archive = execFileSync('git', ['archive', '--format=tar', RELEASE, 'src', 'package.json', 'tsconfig.json'], { maxBuffer: 64 << 20 });
  execFileSync('tar', ['-x', '-C', dir], { input: archive });
  symlinkSync(resolve('node_modules'), join(dir, 'node_modules'));
  return dir;
}

async function startRelease(dir: string, databaseUrl: string): Promise<{ child: ChildProcess; url: string }> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', join(dir, 'src/cli/main.ts'), 'start'], {
    env: {
      ...process.env,
      PORT: String(port),
      DATABASE_URL: databaseUrl,
      MERIDIAN_DATA_DIR: join(dir, '.data'),
      MERIDIAN_MASTER_KEY: TEST_MASTER_KEY.toString('base64url'),
      MERIDIAN_ISSUER: 'https://auth.test',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  await new Promise<void>((ready, fail) => {
    const onData = (b: Buffer) => {
      output.push(b.toString());
      if (output.join('').includes('listening on')) ready();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => fail(new Error(`release server exited (${code}): ${output.join('')}`)));
  });
  return { child, url: `http://127.0.0.1:${port}` };
}

describe(`upgrade from ${RELEASE}: outstanding refresh tokens keep working`, () => {
  let dir: string;
  let db: { url: string; drop: () => Promise<void> };
  let t: TestApp;
  /** What the release issued: a user's tokens after the named steps. */
  const issued: Record<string, { first: Tokens; rotated?: Tokens }> = {};

  before(async () => {
    dir = checkOutRelease();
    db = await createDatabase();
    const release = await startRelease(dir, db.url);
    try {
      const call = async (path: string, body: unknown): Promise<Tokens> => {
        const res = await fetch(`${release.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
        assert.ok(res.ok, `${path}: ${res.status} ${await res.clone().text()}`);
        return (await res.json()) as Tokens;
      };
      for (const name of ['never-rotated', 'rotated-once', 'retried', 'reused', 'revoked']) {
        await call('/v1/auth/register', { username: name, password: PASSWORD });
        const first = await call('/v1/auth/login', { username: name, password: PASSWORD });
        issued[name] = { first, rotated: name === 'never-rotated' ? undefined : await call('/v1/auth/refresh', { refresh_token: first.refresh_token }) };
      }
    } finally {
      release.child.kill('SIGTERM');
      await exited(release.child);
    }
    // This build, on the same database and master key; its start migrates the database.
    t = await createTestApp({ databaseUrl: db.url, clock: new ManualClock(Date.now()) });
  });
  after(async () => {
    await t?.close();
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  const refresh = (token: string) => post(t.app, '/v1/auth/refresh', { refresh_token: token });
  const isNewFormat = (token: string) => token.split('.').length === 3;

  it('the release left previous-format tokens', () => {
    for (const { first, rotated } of Object.values(issued)) {
      assert.equal(isNewFormat(first.refresh_token), false);
      if (rotated) assert.equal(isNewFormat(rotated.refresh_token), false);
    }
  });

  it("a retry of the release's last rotation, inside the window, continues the same session without a branch", async () => {
    const { first, rotated } = issued.retried!;
    // The parent of the live token is inside the grace window (the clock starts at the release's time).
    const retry = await refresh(first.refresh_token);
    assert.equal(retry.statusCode, 200, retry.body);
    const successor = json<Tokens>(retry).refresh_token;
    // It stands for the same generation as the release's own successor: whichever is used first rotates.
    const onward = json<Tokens>(await refresh(rotated!.refresh_token));
    assert.equal(json<Tokens>(await refresh(successor)).refresh_token, onward.refresh_token, 'the other is its grace retry');
    const sid = claimsOf(onward.access_token).sid;
    const { rows } = await t.db.query<{ revoked_at: Date | null }>('SELECT revoked_at FROM sessions WHERE id = $1', [sid]);
    assert.equal(rows[0]!.revoked_at, null);
  });

  it('a live token of either age refreshes once more, into the new format, which refreshes on', async () => {
    for (const live of [issued['never-rotated']!.first, issued['rotated-once']!.rotated!]) {
      const next = await refresh(live.refresh_token);
      assert.equal(next.statusCode, 200, next.body);
      const token = json<Tokens>(next).refresh_token;
      assert.ok(isNewFormat(token), token);
      assert.equal(claimsOf(json<Tokens>(next).access_token).sid, claimsOf(live.access_token).sid);
      assert.equal((await refresh(token)).statusCode, 200);
      // The previous-format token is spent now: presented again after the window it is reuse.
      t.clock.advance(11_000);
      assert.equal(json(await refresh(live.refresh_token)).error, 'invalid_grant');
    }
  });

  it('reuse of a spent previous-format token revokes the session, its new-format tokens included', async () => {
    const { first, rotated } = issued.reused!;
    const next = json<Tokens>(await refresh(rotated!.refresh_token));
    t.clock.advance(11_000);
    assert.equal(json(await refresh(first.refresh_token)).error, 'invalid_grant');
    assert.equal(json(await refresh(next.refresh_token)).error, 'invalid_grant');
  });

  it('RFC 7009 revocation with a previous-format token ends the session', async () => {
    const { rotated } = issued.revoked!;
    const res = await post(t.app, '/oauth/revoke', { token: rotated!.refresh_token });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(json(await refresh(rotated!.refresh_token)).error, 'invalid_grant');
  });
});
