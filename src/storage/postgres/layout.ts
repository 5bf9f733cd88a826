import type { Db } from './db.js';
import { SQL } from './sql.js';

/**
 * Records the region's list of databases on its first start and refuses any
 * other list after (migration 022): rows are placed by it, so a server
 * started with a shard more or less would route requests to databases that
 * do not hold their rows. Changing the list means moving slots, which is not
 * a configuration edit (docs/scaling.md).
 */
export async function checkShardLayout(db: Db, names: readonly string[]): Promise<void> {
  await db.query(SQL.recordShardLayout, [names]);
  const { rows } = await db.query<{ name: string }>(SQL.readShardLayout);
  const recorded = rows.map((r) => r.name);
  if (recorded.join(' ') !== names.join(' ')) {
    throw new Error(
      `this region's rows are placed over the databases [${recorded.join(', ')}], but this server is configured with [${names.join(', ')}] (DATABASE_URL as main, then MERIDIAN_SHARDS): start it with the recorded list`,
    );
  }
}
