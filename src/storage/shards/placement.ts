import { SLOTS, slotOfId, slotOfName } from '../../util/slots.js';
import { misconfigured } from '../../errors.js';
import { isSlotMoving } from '../postgres/db.js';

/** One database of a region, by the name the configuration gives it. */
export interface Shard<T> {
  name: string;
  store: T;
}

/**
 * Which shard holds each slot: the region's slot map (migration 023), kept
 * on the main shard and read by every process; `reload` reads it again. An
 * id that is not one of ours (a test's, a malformed one) goes to the main
 * shard, where it finds nothing, as it would in a region of one database.
 */
export class SlotMap {
  private readonly bySlot = new Uint8Array(SLOTS);
  version = 0;
  /** Reads the map from the main shard again; set by the storage that owns it. */
  reload: () => Promise<void> = async () => {};
  /** Reads the map again only if its version moved (one small read otherwise); set by the storage that owns it. */
  refresh: () => Promise<void> = () => this.reload();
  /** Whether shard `index` refuses writes to the slot (moving or gone); set by the storage that owns it. */
  guarded: (index: number, slot: number) => Promise<boolean> = async () => false;

  constructor(readonly names: readonly string[]) {
    if (names.length < 1 || names.length > 255) throw new RangeError('a region has 1 to 255 shards');
  }

  /** Takes a map as read: the shard name of every slot. */
  assign(version: number, shardOf: readonly string[]): void {
    for (let slot = 0; slot < SLOTS; slot++) {
      const i = this.names.indexOf(shardOf[slot] as string);
      // 503, not 500: a server left out of a shard's addition answers for the slots it knows and waits to be configured.
      if (i < 0) throw misconfigured(`slot ${slot} is on shard "${shardOf[slot]}", which this server is not configured with (MERIDIAN_SHARDS)`);
      this.bySlot[slot] = i;
    }
    this.version = version;
  }

  indexOf(slot: number | undefined): number {
    return slot === undefined ? 0 : (this.bySlot[slot] as number);
  }
}

/** A lookup that found no row, or a change that changed none. */
const foundNothing = (r: unknown): boolean => r === null || r === false || (Array.isArray(r) && r.length === 0);

/** One kind of store on every shard, chosen by the slot map. */
export class Placement<T> {
  constructor(
    readonly map: SlotMap,
    readonly shards: readonly Shard<T>[],
  ) {}

  ofSlot(slot: number | undefined): T {
    return (this.shards[this.map.indexOf(slot)] as Shard<T>).store;
  }

  /**
   * Runs `use` on the shard of the slot. A process learns of a slot move by
   * polling the map, so for up to a poll it may ask the shard the slot left:
   * a write there is refused (MR001), and a call that finds nothing may have
   * missed a row made on the new shard, or deleted behind the move. Either
   * way, if that shard guards the slot, the map is read again and, if the
   * slot has gone elsewhere, `use` runs there (a refused transaction changed
   * nothing). A slot still frozen keeps its 503 (Retry-After: 1).
   */
  async at<R>(slot: number | undefined, use: (store: T) => Promise<R>): Promise<R> {
    const index = this.map.indexOf(slot);
    const first = this.ofSlot(slot);
    let result: R;
    try {
      result = await use(first);
    } catch (err) {
      if (!isSlotMoving(err)) throw err;
      await this.map.reload();
      if (this.ofSlot(slot) === first) throw err;
      return use(this.ofSlot(slot));
    }
    if (slot === undefined || !foundNothing(result) || !(await this.map.guarded(index, slot))) return result;
    await this.map.reload();
    return this.ofSlot(slot) === first ? result : use(this.ofSlot(slot));
  }

  /** `at` for the row an id names (a user's, a session's: a session carries its user's slot). */
  byId<R>(id: string, use: (store: T) => Promise<R>): Promise<R> {
    return this.at(slotOfId(id), use);
  }

  /** `at` for the user with this normalized username. */
  byName<R>(usernameNormalized: string, use: (store: T) => Promise<R>): Promise<R> {
    return this.at(slotOfName(usernameNormalized), use);
  }
}

/**
 * Runs `each` on every shard at once. A shard that fails does not stop the
 * others (a background pass over four shards still does three when one is
 * down); the first failure is thrown once all have finished.
 */
export async function onEveryShard<T, R>(shards: readonly Shard<T>[], each: (store: T, name: string, index: number) => Promise<R>): Promise<R[]> {
  const { values, failed } = await fromShardsUp(shards, each);
  if (failed[0]) throw failed[0].error;
  return values;
}

/**
 * Runs `each` on every shard at once and keeps what the shards that answered
 * returned, for reads where part of an answer is worth more than none (the
 * revocations of the shards that are up); `failed`: the shards that did not.
 */
export async function fromShardsUp<T, R>(
  shards: readonly Shard<T>[],
  each: (store: T, name: string, index: number) => Promise<R>,
): Promise<{ values: R[]; failed: { index: number; error: unknown }[] }> {
  const settled = await Promise.allSettled(shards.map((s, i) => each(s.store, s.name, i)));
  const values: R[] = [];
  const failed: { index: number; error: unknown }[] = [];
  for (const [index, r] of settled.entries()) {
    if (r.status === 'fulfilled') values.push(r.value);
    else failed.push({ index, error: r.reason });
  }
  return { values, failed };
}

export const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);
