import type { Db, Queryable } from './db.js';
import { SQL } from './sql.js';

/**
 * The region's slot map on the main shard (migration 023): written once,
 * read by every process at start and whenever its version moves, changed
 * only by a slot move (slot-mover.ts).
 */

/** Writes the even split on a region's first start; `names`: the configured shards, main first. */
export async function ensureSlotMap(db: Queryable, names: readonly string[]): Promise<void> {
  await db.query(SQL.ensureSlotMap, [names]);
}

export interface SlotMapRows {
  version: number;
  /** The shard of each slot, by slot. */
  shards: string[];
}

export async function readSlotMap(db: Db): Promise<SlotMapRows> {
  const { rows } = await db.query<{ version: string; shards: string[] | null }>(SQL.readSlotMap);
  const row = rows[0];
  return { version: Number(row?.version ?? 0), shards: row?.shards ?? [] };
}

export async function readSlotMapVersion(db: Db): Promise<number> {
  const { rows } = await db.query<{ version: string }>(SQL.readSlotMapVersion);
  return Number(rows[0]?.version ?? 0);
}

/** Whether this shard refuses writes to the slot: it is moving away or has gone. */
export async function slotGuarded(db: Db, slot: number): Promise<boolean> {
  const { rows } = await db.query<{ guarded: boolean }>(SQL.slotGuarded, [slot]);
  return rows[0]?.guarded === true;
}
