import { SLOTS, slotOfId, slotOfName } from '../../util/slots.js';

/** One database of a region, by the name the configuration gives it. */
export interface Shard<T> {
  name: string;
  store: T;
}

/**
 * Which shard holds each slot. The slots are split into contiguous, even
 * ranges over the shards in configuration order (the first is the main
 * database, which also holds the signing keys and the username directory).
 * An id that is not one of ours (a test's, a malformed one) goes to the main
 * shard, where it finds nothing, as it would in a region of one database.
 */
export class Placement<T> {
  private readonly bySlot: Uint8Array;

  constructor(readonly shards: readonly Shard<T>[]) {
    if (shards.length < 1 || shards.length > 255) throw new RangeError('a region has 1 to 255 shards');
    this.bySlot = new Uint8Array(SLOTS);
    for (let slot = 0; slot < SLOTS; slot++) this.bySlot[slot] = Math.floor((slot * shards.length) / SLOTS);
  }

  get main(): T {
    return (this.shards[0] as Shard<T>).store;
  }

  /** The shard of a slot. */
  ofSlot(slot: number | undefined): T {
    if (slot === undefined) return this.main;
    return (this.shards[this.bySlot[slot] as number] as Shard<T>).store;
  }

  /** The shard of the row an id names (a user's, a session's: a session carries its user's slot). */
  ofId(id: string): T {
    return this.ofSlot(slotOfId(id));
  }

  /** The shard of the user with this normalized username. */
  ofName(usernameNormalized: string): T {
    return this.ofSlot(slotOfName(usernameNormalized));
  }

  /** The slots each shard holds, as ranges (for `meridian config`-style reports and docs). */
  ranges(): { name: string; from: number; to: number }[] {
    return this.shards.map((s, i) => {
      const slots = [...this.bySlot.keys()].filter((slot) => this.bySlot[slot] === i);
      return { name: s.name, from: slots[0] ?? -1, to: slots[slots.length - 1] ?? -1 };
    });
  }
}

/**
 * Runs `each` on every shard at once. A shard that fails does not stop the
 * others (a background pass over four shards still does three when one is
 * down); the first failure is thrown once all have finished.
 */
export async function onEveryShard<T, R>(shards: readonly Shard<T>[], each: (store: T, name: string, index: number) => Promise<R>): Promise<R[]> {
  const settled = await Promise.allSettled(shards.map((s, i) => each(s.store, s.name, i)));
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((r) => (r as PromiseFulfilledResult<R>).value);
}

export const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);
