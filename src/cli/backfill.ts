import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { backfill } from '../regions/backfill.js';
import type { Topology } from '../regions/topology.js';
import { openStorage } from '../storage/storage.js';

/** `meridian backfill <region>`: queue this region's state for a region added to the topology. */
export async function backfillCommand(config: Config, topology: Topology | undefined, logger: Logger, target: string | undefined): Promise<number> {
  if (!topology || !target) {
    console.error('usage: meridian backfill <region>   (run in each existing region, with MERIDIAN_REGIONS_FILE listing the new one)');
    return 1;
  }
  const storage = await openStorage({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 1 }, { replicate: true });
  try {
    const queued = await backfill(storage.replication, {
      self: config.region,
      target,
      topology,
      now: Date.now(),
      accessLifetimeMs: (config.accessTokenTtl + 2 * config.clockSkewSeconds) * 1000,
    });
    logger.info({ target, queued }, "backfill queued; this region's worker delivers it");
    console.log(`queued for ${target}: ${queued.users} users, ${queued.families} sessions, ${queued.revocations} revocations`);
    return 0;
  } finally {
    await storage.close();
  }
}
