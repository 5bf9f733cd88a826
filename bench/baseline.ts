/**
 * Another build of Meridian to measure beside this one: the tree of a git
 * commit (`git archive`), extracted once into BENCH_BASELINE_DIR (default
 * meridian-bench/ in the system's temporary directory), with this checkout's
 * node_modules linked into it. Not under bench/: lint and the type check take
 * in every TypeScript file there, and would check the other tree too. Its bench/server.ts
 * and worker then run from that directory with the TypeScript loader, as this
 * build's do.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { resolve } from 'node:path';

const ROOT = process.env.BENCH_BASELINE_DIR ?? resolve(tmpdir(), 'meridian-bench');

/** The last release before the one-row-per-session refresh tokens. */
export const DEFAULT_BASELINE = 'bf63034';

/** The directory holding `commit`'s tree, extracted if it is not there yet. */
export function baselineTree(commit: string): string {
  const full = execFileSync('git', ['rev-parse', '--verify', `${commit}^{commit}`])
    .toString()
    .trim();
  const dir = resolve(ROOT, `baseline-${full.slice(0, 12)}`);
  const done = resolve(dir, '.extracted');
  if (existsSync(done)) return dir;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const tar = execFileSync('git', ['archive', full], { maxBuffer: 1 << 30 });
  execFileSync('tar', ['-x', '-C', dir], { input: tar });
  symlinkSync(resolve('node_modules'), resolve(dir, 'node_modules'), 'dir');
  writeFileSync(done, `${full}\n`);
  return dir;
}

/** Copies this checkout's `file` (a benchmark that drives any build) into `tree`, to run it there. */
export function copyInto(tree: string, file: string): void {
  cpSync(resolve(file), resolve(tree, file));
}

/** The short commit id of HEAD in this checkout, and whether its tree has changes not committed. */
export function thisBuild(): string {
  const head = execFileSync('git', ['rev-parse', '--short', 'HEAD']).toString().trim();
  const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no']).toString().trim() !== '';
  return dirty ? `${head}+changes` : head;
}
