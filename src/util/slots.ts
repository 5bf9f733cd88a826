/**
 * Placement: a region's rows are spread over a fixed number of logical slots,
 * and slots are mapped to databases (shards) by the region's slot map. The
 * slot travels inside every id (two base-32 digits after the time part, see
 * `newId`), so any process finds a row's shard from the id alone, with no
 * lookup. A user's slot comes from the username, so a login finds the user's
 * shard from what the person typed; the user's sessions take the user's slot,
 * so everything of one user lives on one shard.
 *
 * SLOTS must never change: ids already issued carry their slot.
 */
export const SLOTS = 1024;

/** The base-32 digits of ids (Crockford's alphabet, lower case). */
export const CROCKFORD = '0123456789abcdefghjkmnpqrstvwxyz';

/** FNV-1a (32 bits) of a string's UTF-16 code units: cheap, stable across processes and releases. */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** The slot of a normalized username (the slot its user's id carries). */
export function slotOfName(usernameNormalized: string): number {
  return fnv1a(usernameNormalized) % SLOTS;
}

/** The two id digits that carry a slot. */
export function slotDigits(slot: number): string {
  if (!Number.isInteger(slot) || slot < 0 || slot >= SLOTS) throw new RangeError(`slot out of range: ${slot}`);
  return (CROCKFORD[slot >> 5] as string) + (CROCKFORD[slot & 31] as string);
}

const ID = /^[a-z][a-z0-9-]{0,31}_[0-9a-z]{10}([0-9a-z])([0-9a-z])[0-9a-z]{14}$/;

/**
 * The slot an id carries, or undefined for a string that is not an id. An id
 * made before placement existed carries two random digits there: a slot all
 * the same, though not its user's (see docs/scaling.md, "Rows from before slots").
 */
export function slotOfId(id: string): number | undefined {
  const m = ID.exec(id);
  if (!m) return undefined;
  const hi = CROCKFORD.indexOf(m[1] as string);
  const lo = CROCKFORD.indexOf(m[2] as string);
  return hi < 0 || lo < 0 ? undefined : hi * 32 + lo;
}
