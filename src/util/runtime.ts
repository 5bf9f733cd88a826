import { randomBytes } from 'node:crypto';
import { CROCKFORD, slotDigits } from './slots.js';

/**
 * Time and randomness, injected everywhere so that tests can move the clock
 * (expiry, grace windows, lockouts) and make ids predictable when they need to.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export interface Random {
  bytes(n: number): Buffer;
}

export const systemClock: Clock = { now: () => Date.now() };
export const systemRandom: Random = { bytes: (n) => randomBytes(n) };

/** A clock tests can set and advance. */
export class ManualClock implements Clock {
  constructor(private t = Date.now()) {}
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
  set(ms: number): void {
    this.t = ms;
  }
}

/**
 * A region-prefixed, time-ordered id: `<region>_<10 chars time><2 chars slot><14 chars random>`.
 * The prefix says which region issued it, so any region knows where to ask;
 * the time part keeps B-tree inserts local; the slot says which shard holds
 * the row (util/slots.ts).
 */
export function newId(region: string, clock: Clock, random: Random, slot: number): string {
  let t = clock.now();
  let time = '';
  for (let i = 0; i < 10; i++) {
    time = CROCKFORD[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const r = random.bytes(10);
  let rand = slotDigits(slot);
  for (let i = 0; i < 14; i++) {
    // 10 bytes = 80 bits, of which 70 make 14 base32 digits; read 5 bits at a time.
    const bit = i * 5;
    const byte = bit >> 3;
    const word = ((r[byte] ?? 0) << 8) | (r[byte + 1] ?? 0);
    rand += CROCKFORD[(word >> (11 - (bit & 7))) & 31];
  }
  return `${region}_${time}${rand}`;
}

/** When an id made by `newId` was made (its time part), ms; undefined for anything else. */
export function idTime(id: string): number | undefined {
  const m = /^[a-z][a-z0-9-]{0,31}_([0-9a-z]{10})[0-9a-z]{16}$/.exec(id);
  if (!m) return undefined;
  let t = 0;
  for (const c of m[1] as string) {
    const v = CROCKFORD.indexOf(c);
    if (v < 0) return undefined;
    t = t * 32 + v;
  }
  return t;
}

/** The region encoded in an id or token made by `newId` or the refresh-token codec. */
export function regionOf(idOrToken: string): string | undefined {
  const m = /^([a-z][a-z0-9-]{0,31})[_.]/.exec(idOrToken);
  return m?.[1];
}
