import type { Db } from './db.js';
import { SQL } from './sql.js';

/**
 * Records the region's list of databases on its first start (migration 022)
 * and after that takes only the same list with shards added at its end: a
 * shard added holds no slot until slots are moved to it (`meridian shards
 * move`), while one dropped or renamed would leave its slots' rows where no
 * server looks (docs/scaling.md).
 */
export async function checkShardLayout(db: Db, names: readonly string[], self: string): Promise<void> {
  await db.query(SQL.recordShardSelf, [self]);
  const me = await db.query<{ name: string }>(SQL.readShardSelf);
  const recordedSelf = me.rows[0]?.name;
  if (recordedSelf !== self) {
    throw new Error(`the database configured as shard "${self}" is shard "${recordedSelf}" of its region: check DATABASE_URL and MERIDIAN_SHARDS`);
  }
  await db.query(SQL.recordShardLayout, [names]);
  const { rows } = await db.query<{ name: string }>(SQL.readShardLayout);
  const recorded = rows.map((r) => r.name);
  if (recorded.join(' ') !== names.join(' ')) {
    throw new Error(
      `this region's rows are placed over the databases [${recorded.join(', ')}], but this server is configured with [${names.join(', ')}] (DATABASE_URL as main, then MERIDIAN_SHARDS): start it with the recorded list, to which shards may only be added at the end`,
    );
  }
}
