import { readFileSync } from 'node:fs';
import type { Redis, Result } from 'ioredis';

/**
 * The Lua scripts, one file each under `scripts/`, named after what they do
 * and how many keys they take (`<name>-<numkeys>.lua`). ioredis runs them by
 * SHA and reloads them itself when a restarted Redis has forgotten them.
 */
const dir = new URL('./scripts/', import.meta.url);

function load(file: string): { lua: string; numberOfKeys: number } {
  const m = /-(\d+)$/.exec(file);
  if (!m) throw new Error(`script ${file} must end in -<number of keys>`);
  return { lua: readFileSync(new URL(`${file}.lua`, dir), 'utf8'), numberOfKeys: Number(m[1]) };
}

const SCRIPTS = {
  setIfNewer: load('set-if-newer-1'),
  incrementWindow: load('increment-window-1'),
} as const;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    setIfNewer(key: string, version: number, data: string, ttlMs: number): Result<number, Context>;
    incrementWindow(key: string, now: number, windowMs: number): Result<[number, number], Context>;
  }
}

/** Makes every script callable as a command on `redis`. */
export function defineScripts(redis: Redis): void {
  for (const [name, script] of Object.entries(SCRIPTS)) redis.defineCommand(name, script);
}
