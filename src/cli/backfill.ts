import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { backfill } from '../regions/backfill.js';
import type { Topology } from '../regions/topology.js';
import { openDatabase } from '../storage/postgres/drivers.js';

/** `meridian backfill <region>`: queue this region's state for a region added to the topology. */
export async function backfillCommand(config: Config, topology: Topology | undefined, logger: Logger, target: string | undefined): Promise<number> {
  if (!topology || !target) {
    console.error('usage: meridian backfill <region>   (run in each existing region, with MERIDIAN_REGIONS_FILE listing the new one)');
    return 1;
  }
  const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 1 });
  try {
    const queued = await backfill(db, {
      self: config.region,
      target,
      topology,
      now: Date.now(),
      accessLifetimeMs: (config.accessTokenTtl + 2 * config.clockSkewSeconds) * 1000,
    });
    logger.info({ target, queued }, 'backfill queued; this region\'s worker delivers it');
    console.log(`queued for ${target}: ${queued.users} users, ${queued.families} sessions, ${queued.revocations} revocations`);
    return 0;
  } finally {
    await db.close();
  }
}
