import { SLOTS, slotOfName } from '../../util/slots.js';
import { type Db, isIntegrityViolation } from '../postgres/db.js';
import { readSlotMap } from '../postgres/slot-map.js';
import { SQL } from '../postgres/sql.js';
import { SLOT_MAP_POLL_MS } from './sharded-storage.js';

export interface MoveReport {
  slot: number;
  from: string;
  /** Users and sessions copied. */
  users: number;
  sessions: number;
  /** How long writes to the slot were refused, ms. */
  frozenMs: number;
}

/** A slot that cannot move: it stays on its shard, open for writes. */
export class SlotRefused extends Error {
  constructor(
    readonly slot: number,
    readonly reason: string,
  ) {
    super(`slot ${slot} is not moved: ${reason}`);
  }
}

export interface MoveResult {
  moved: MoveReport[];
  refused: SlotRefused[];
}

export interface MoverOptions {
  /** Waits `ms` (injected: tests need no real sleeps beyond the map poll). */
  sleep: (ms: number) => Promise<void>;
  now: () => number;
  /** Told of each slot once it is on its new shard. */
  onMoved?: (report: MoveReport) => void;
  /** Told of each slot refused (it stays where it was). */
  onRefused?: (refusal: SlotRefused) => void;
  /** How long to wait for the writes in flight at a freeze, ms. */
  drainTimeoutMs?: number;
}

/**
 * Moves slots between a region's shards while it serves (docs/scaling.md,
 * "Adding a shard"). Per slot: freeze it on its shard (writes there now fail
 * with MR001, which servers answer 503 Retry-After: 1 or, once the map has
 * moved, retry on the new shard), wait for the transactions that were in
 * flight to end, copy its rows, cut over in the slot map, and mark it moved
 * on the old shard. Once every slot is across, and every process has had
 * time to read the new map, the rows left behind are deleted.
 */
export class SlotMover {
  constructor(
    private readonly dbs: ReadonlyMap<string, Db>,
    private readonly main: Db,
    private readonly o: MoverOptions,
  ) {}

  async map(): Promise<string[]> {
    return (await readSlotMap(this.main)).shards;
  }

  /**
   * Moves the slots one by one. A slot whose rows cannot go (rows from before
   * slot placement) is refused and stays where it was, open again; the others
   * still move. Any other failure stops the move. Either way the slots that
   * did move are deleted behind before this returns or throws.
   */
  async move(slots: readonly number[], to: string): Promise<MoveResult> {
    const target = this.dbs.get(to);
    if (!target) throw new Error(`no shard "${to}" (configured: ${[...this.dbs.keys()].join(', ')})`);
    for (const slot of slots) if (!Number.isInteger(slot) || slot < 0 || slot >= SLOTS) throw new Error(`no slot ${slot}`);
    const map = await this.map();
    const moved: MoveReport[] = [];
    const refused: SlotRefused[] = [];
    const guarded = new Set<string>();
    let stopped: unknown;
    for (const slot of slots) {
      const from = map[slot] as string;
      if (from === to) continue;
      try {
        if (!guarded.has(from)) await (this.dbs.get(from) as Db).exec(SQL.installSlotGuard);
        guarded.add(from);
        const report = await this.moveOne(slot, this.dbs.get(from) as Db, from, target, to);
        moved.push(report);
        this.o.onMoved?.(report);
      } catch (err) {
        if (!(err instanceof SlotRefused)) {
          stopped = err;
          break;
        }
        refused.push(err);
        this.o.onRefused?.(err);
      }
    }
    if (moved.length > 0) {
      // Every process polls the map each SLOT_MAP_POLL_MS; three rounds and they all route elsewhere
      // (a write that still arrives is refused by the guard and retried on the new shard).
      await this.o.sleep(3 * SLOT_MAP_POLL_MS);
      for (const r of moved) await moving(this.dbs.get(r.from) as Db, (tx) => tx.query(SQL.clearSlotRows, [r.slot]));
    }
    if (stopped) throw stopped;
    return { moved, refused };
  }

  private async moveOne(slot: number, source: Db, from: string, target: Db, to: string): Promise<MoveReport> {
    const frozenAt = this.o.now();
    await source.query(SQL.guardSlot, [slot, 'frozen']);
    let copied: { users: number; sessions: number };
    try {
      await this.drain(source);
      const { rows } = await source.query<Record<'users' | 'sessions' | 'revocations' | 'deletions' | 'tokens', unknown[]>>(SQL.readSlotRows, [slot]);
      const copy = rows[0] as Record<'users' | 'sessions' | 'revocations' | 'deletions' | 'tokens', unknown[]>;
      // A user made before ids carried slots may sit in a slot its name does not hash to: moving it
      // would leave it where logins do not look. Such rows need a region of one database.
      const misplaced = (copy.users as { username_normalized: string }[]).filter((u) => slotOfName(u.username_normalized) !== slot);
      if (misplaced.length) throw new SlotRefused(slot, `it holds ${misplaced.length} user(s) from before slot placement`);
      await moving(target, async (tx) => {
        await tx.query(SQL.unguardSlot, [slot]);
        await tx.query(SQL.clearSlotRows, [slot]);
        await tx.query(SQL.insertSlotRows, [
          JSON.stringify(copy.users),
          JSON.stringify(copy.sessions),
          JSON.stringify(copy.revocations),
          JSON.stringify(copy.deletions),
          JSON.stringify(copy.tokens),
        ]);
      }).catch((err: unknown) => {
        // A session from before slot placement whose user is in another slot: its user is not there.
        throw isIntegrityViolation(err) ? new SlotRefused(slot, `its rows do not fit on ${to} (${(err as Error).message})`) : err;
      });
      await this.main.query(SQL.assignSlot, [slot, to]);
      copied = { users: copy.users.length, sessions: copy.sessions.length };
    } catch (err) {
      // Nothing cut over: the slot stays where it was, open again.
      await source.query(SQL.unguardSlot, [slot]);
      throw err;
    }
    await source.query(SQL.guardSlot, [slot, 'moved']);
    return { slot, from, ...copied, frozenMs: this.o.now() - frozenAt };
  }

  /** Waits until no transaction that was running at the freeze still runs. */
  private async drain(source: Db): Promise<void> {
    const { rows } = await source.query<{ snapshot: string }>(SQL.currentSnapshot);
    const snapshot = rows[0]?.snapshot as string;
    const deadline = this.o.now() + (this.o.drainTimeoutMs ?? 10_000);
    for (;;) {
      const r = await source.query<{ running: number }>(SQL.transactionsInProgress, [snapshot]);
      if ((r.rows[0]?.running ?? 0) === 0) return;
      if (this.o.now() > deadline) throw new Error('transactions begun before the freeze are still running');
      await this.o.sleep(5);
    }
  }
}

/** Runs `fn` in a transaction whose writes the slot guard lets through. */
function moving(db: Db, fn: (tx: Parameters<Parameters<Db['transaction']>[0]>[0]) => Promise<unknown>): Promise<unknown> {
  return db.transaction(async (tx) => {
    await tx.query(SQL.allowSlotWrites);
    return fn(tx);
  });
}
