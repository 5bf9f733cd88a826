/**
 * Every key a Redis script touches is one it was given in KEYS, never one
 * it builds: on a Redis Cluster a script runs on the node of its declared
 * keys' slot, and an undeclared key would be refused (or, worse, read on the
 * wrong node). Each script's file name ends with how many keys it takes
 * (`-n`: any number), and its header names each one.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const DIR = fileURLToPath(new URL('../src/storage/redis/scripts/', import.meta.url));
const scripts = readdirSync(DIR).filter((f) => f.endsWith('.lua'));

/** The first argument of each redis.call / redis.pcall, as written. */
function keyArguments(source: string): string[] {
  return [...source.matchAll(/redis\.p?call\(\s*'[A-Za-z]+'\s*,\s*([^,)]+)/g)].map((m) => (m[1] as string).trim());
}

describe('Redis scripts', () => {
  it('are there to check', () => {
    assert.ok(scripts.length >= 5, scripts.join(', '));
  });

  for (const file of scripts) {
    it(`${file} touches only keys from KEYS, as many as its name says`, () => {
      const source = readFileSync(`${DIR}${file}`, 'utf8');
      const code = source
        .split('\n')
        .filter((l) => !l.trimStart().startsWith('--'))
        .join('\n');
      // A loop over KEYS binds its variable to each declared key in turn.
      const loopVars = [...code.matchAll(/for\s+\w+\s*,\s*(\w+)\s+in\s+ipairs\(KEYS\)/g)].map((m) => m[1] as string);
      const args = keyArguments(code);
      assert.ok(args.length > 0, 'it calls Redis');
      for (const arg of args) assert.ok(/^KEYS\[\d+\]$/.test(arg) || loopVars.includes(arg), `${file}: redis.call on ${arg}, not a declared key`);

      const declared = /-(\d+|n)\.lua$/.exec(file)?.[1];
      assert.ok(declared, `${file}: the name ends with its key count`);
      const indices = new Set([...code.matchAll(/KEYS\[(\d+)\]/g)].map((m) => Number(m[1])));
      if (declared === 'n') assert.ok(loopVars.length > 0, `${file}: takes any number of keys, so it loops over KEYS`);
      else
        assert.deepEqual(
          [...indices].sort(),
          Array.from({ length: Number(declared) }, (_, i) => i + 1),
          `${file}: uses KEYS[1..${declared}]`,
        );
      for (const i of indices) assert.match(source, new RegExp(`^-- KEYS\\[${i}\\]`, 'm'), `${file}: the header names KEYS[${i}]`);
    });
  }
});
