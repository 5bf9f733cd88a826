/**
 * The `meridian` command as the README tells a checkout to run it:
 * `npm run meridian -- <command>`, on the dist/ that `npm install` builds.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import { describeConfig } from '../src/config/load.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

describe('the meridian command from a checkout', () => {
  it('`npm run --silent meridian -- config` prints the configuration table', async () => {
    assert.ok(existsSync(new URL('../dist/cli/main.js', import.meta.url)), 'dist/ is missing: `npm install` (its prepare script) builds it');
    const { stdout } = await promisify(execFile)('npm', ['run', '--silent', 'meridian', '--', 'config'], { cwd: ROOT });
    assert.equal(
      stdout,
      `| variable | default | meaning |\n|---|---|---|\n${describeConfig()}\n`,
      'a dist/ older than src/ prints the old table: `npm run build`',
    );
  });
});
