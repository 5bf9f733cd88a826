import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { openDatabase } from '../storage/postgres/drivers.js';
import { migrate } from '../storage/postgres/migrate.js';

export async function migrateCommand(config: Config, logger: Logger): Promise<number> {
  const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 1 });
  try {
    const applied = await migrate(db, { log: logger });
    logger.info({ applied }, applied.length ? 'migrations applied' : 'database is up to date');
    return 0;
  } finally {
    await db.close();
  }
}
