import { readFileSync } from 'node:fs';
import type { Cluster, Redis, Result } from 'ioredis';

/**
 * The Lua scripts, one file each under `scripts/`, named after what they do
 * and how many keys they take (`<name>-<numkeys>.lua`, `-n` for any number:
 * the caller passes the count first). ioredis runs them by SHA and reloads
 * them itself when a restarted Redis has forgotten them.
 */
const dir = new URL('./scripts/', import.meta.url);

function load(file: string): { lua: string; numberOfKeys?: number } {
  const m = /-(\d+|n)$/.exec(file);
  if (!m) throw new Error(`script ${file} must end in -<number of keys> or -n`);
  const lua = readFileSync(new URL(`${file}.lua`, dir), 'utf8');
  return m[1] === 'n' ? { lua } : { lua, numberOfKeys: Number(m[1]) };
}

const SCRIPTS = {
  setIfNewer: load('set-if-newer-n'),
  rotateSession: load('rotate-session-2'),
  forgetFlushed: load('forget-flushed-1'),
  incrementWindow: load('increment-window-1'),
  giveBackWindow: load('give-back-window-1'),
} as const;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    /** `numberOfKeys` keys, then (version, data, ttlMs) per key. */
    setIfNewer(numberOfKeys: number, ...keysThenArgs: (string | number)[]): Result<number[], Context>;
    rotateSession(
      entryKey: string,
      pendingKey: string,
      sessionId: string,
      expectedVersion: number,
      generation: number,
      data: string,
      ttlMs: number,
      now: number,
    ): Result<number, Context>;
    /** Session id, flushed value, session id, flushed value, ... */
    forgetFlushed(pendingKey: string, ...idsAndValues: string[]): Result<number, Context>;
    /** With `limit`: adds only below it; the third element says whether it added. */
    incrementWindow(key: string, now: number, windowMs: number, limit?: number): Result<[number, number, number], Context>;
    giveBackWindow(key: string, windowEnd: number): Result<number, Context>;
  }
}

/** Makes every script callable as a command on `redis`. */
export function defineScripts(redis: Redis | Cluster): void {
  for (const [name, script] of Object.entries(SCRIPTS)) redis.defineCommand(name, script);
}
