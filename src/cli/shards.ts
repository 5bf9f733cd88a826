import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { migrateCommand } from './migrate.js';
import { MAIN_SHARD, type MoveReport, openSlotMover, parseShards } from '../storage/storage.js';
import { SLOTS } from '../util/slots.js';

const USAGE = `usage: meridian shards list
       meridian shards add <shard>              move an even share of the slots to a shard named in MERIDIAN_SHARDS
       meridian shards move <slot>[-<slot>] <shard>`;

/** Slot ranges of one shard, as `0-255 512-767`. */
function ranges(map: readonly string[], shard: string): string {
  const out: string[] = [];
  for (let s = 0; s < map.length; s++) {
    if (map[s] !== shard) continue;
    let e = s;
    while (map[e + 1] === shard) e++;
    out.push(s === e ? `${s}` : `${s}-${e}`);
    s = e;
  }
  return out.join(' ') || '(none)';
}

/**
 * The slots to give a new shard an even share: from the shards holding the
 * most, their highest slots first, until the new one holds 1/(n+1).
 */
export function slotsToAdd(map: readonly string[], to: string, names: readonly string[]): number[] {
  const holding = names.filter((n) => n !== to);
  const share = Math.floor(SLOTS / (holding.length + 1));
  const count = new Map(names.map((n) => [n, map.filter((m) => m === n).length]));
  const taken: number[] = [];
  const left = [...map];
  while ((count.get(to) ?? 0) + taken.length < share) {
    const richest = holding.reduce((a, b) => ((count.get(b) ?? 0) > (count.get(a) ?? 0) ? b : a));
    const slot = left.lastIndexOf(richest);
    if (slot < 0) break;
    left[slot] = to;
    taken.push(slot);
    count.set(richest, (count.get(richest) ?? 0) - 1);
  }
  return taken.sort((a, b) => a - b);
}

function parseSlots(text: string | undefined): number[] | undefined {
  const m = /^(\d+)(?:-(\d+))?$/.exec(text ?? '');
  if (!m) return undefined;
  const from = Number(m[1]);
  const to = Number(m[2] ?? m[1]);
  if (from > to || to >= SLOTS) return undefined;
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

/** `meridian shards list | add <shard> | move <slots> <shard>` (docs/scaling.md, "Adding a shard"). */
export async function shardsCommand(config: Config, logger: Logger, args: readonly string[]): Promise<number> {
  const [sub, a, b] = args;
  if (sub !== 'list' && sub !== 'add' && sub !== 'move') {
    console.error(USAGE);
    return 1;
  }
  const shards = parseShards(config.shards);
  const names = [MAIN_SHARD, ...shards.map((s) => s.name)];
  const to = sub === 'add' ? a : b;
  // A shard named for the first time is migrated (and recorded) before slots go to it.
  if (sub !== 'list' && (await migrateCommand(config, logger)) !== 0) return 1;
  const { mover, close } = await openSlotMover({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 2 }, shards, {
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    now: () => Date.now(),
    onMoved: (r: MoveReport) => console.log(`slot ${r.slot}: ${r.from} -> ${to} (${r.users} users, ${r.sessions} sessions, writes frozen ${r.frozenMs} ms)`),
  });
  try {
    const map = await mover.map();
    if (sub === 'list') {
      for (const n of names) console.log(`${n}\t${map.filter((m) => m === n).length} slots\t${ranges(map, n)}`);
      return 0;
    }
    const slots = sub === 'add' ? slotsToAdd(map, a ?? '', names) : parseSlots(a);
    if (!to || !names.includes(to) || !slots) {
      console.error(`${USAGE}\n(shards: ${names.join(', ')}; slots 0-${SLOTS - 1})`);
      return 1;
    }
    const { moved, refused } = await mover.move(slots, to);
    console.log(`moved ${moved.length} slot(s) to ${to}; the rows left behind are deleted`);
    if (refused.length === 0) return 0;
    console.error(`${refused.length} slot(s) stay where they were (docs/scaling.md, "Rows from before slots"):`);
    for (const r of refused) console.error(`  ${r.message}`);
    return 1;
  } finally {
    await close();
  }
}
