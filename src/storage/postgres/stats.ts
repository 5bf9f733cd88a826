import type { Queryable } from './db.js';
import { SQL } from './sql.js';

/**
 * Sessions that can still be refreshed (for the active-sessions gauge): not
 * revoked, not expired, used within the idle window. Times are epoch ms.
 */
export async function countActiveSessions(db: Queryable, now: number, idleSeconds: number): Promise<number> {
  const r = await db.query<{ count: number }>(SQL.countActiveSessions, [new Date(now), new Date(now - idleSeconds * 1000)]);
  return Number(r.rows[0]?.count ?? 0);
}
