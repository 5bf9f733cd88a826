import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { openStorage, parseShards } from '../storage/storage.js';

export async function migrateCommand(config: Config, logger: Logger): Promise<number> {
  const storage = await openStorage(
    { databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 1 },
    { replicate: false },
    parseShards(config.shards),
  );
  try {
    const applied = await storage.migrate(logger);
    logger.info({ applied }, applied.length ? 'migrations applied' : 'database is up to date');
    return 0;
  } finally {
    await storage.close();
  }
}
