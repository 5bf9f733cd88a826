/**
 * The generated master key of the embedded default: processes that start
 * together on one data directory (an API server and its worker, as the local
 * cluster starts them) all end up with the one key written there.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);
const RESOLVE = `
import { resolveMasterKey } from './src/auth/secrets.ts';
import { systemRandom } from './src/util/runtime.ts';
const { key, origin } = resolveMasterKey(undefined, process.argv[1], systemRandom);
console.log(JSON.stringify({ key: key.toString('base64url'), origin }));
`;

describe('generated master key', () => {
  it('processes starting together on an empty data directory share one key, and none fails', async () => {
    for (let round = 0; round < 3; round++) {
      const dir = mkdtempSync(join(tmpdir(), 'meridian-key-'));
      const results = await Promise.all(
        Array.from({ length: 6 }, () => run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', RESOLVE, join(dir, 'data')])),
      );
      const seen = results.map((r) => JSON.parse(r.stdout) as { key: string; origin: string });
      assert.equal(new Set(seen.map((s) => s.key)).size, 1, 'one key');
      assert.equal(seen.filter((s) => s.origin === 'generated').length, 1, 'generated once');
      assert.deepEqual(readdirSync(join(dir, 'data')), ['master.key'], 'nothing left beside it');
    }
  });
});
