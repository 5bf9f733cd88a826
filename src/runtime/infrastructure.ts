import type { Logger } from 'pino';
import { resolveMasterKey } from '../auth/secrets.js';
import type { Config } from '../config/schema.js';
import { type Audit, createAudit } from '../observability/audit.js';
import { createMetrics, type Metrics } from '../observability/metrics.js';
import { loadTopologyFile, type Topology } from '../regions/topology.js';
import { openSharedState, type SharedState } from '../storage/shared.js';
import { openStorage, parseShards, type QueryObserver, type Storage, type StorageOptions } from '../storage/storage.js';
import { type Clock, type Random, systemClock, systemRandom } from '../util/runtime.js';
import { Resources } from './resources.js';

/**
 * What every Meridian process of a region runs on, opened once: the region's
 * database (migrated), its Redis (or the in-process stand-ins), metrics and
 * the audit log. It owns what it opened: close() closes it all, and a
 * failure half-way closes what was already open.
 */
export interface Infrastructure {
  config: Config;
  logger: Logger;
  clock: Clock;
  random: Random;
  /** The region topology; undefined for a region on its own. */
  topology: Topology | undefined;
  /** The region's master key (from the config or the data directory). */
  masterKey: Buffer;
  metrics: Metrics;
  audit: Audit;
  storage: Storage;
  /** Cache, counters and revocation channel shared by the region's processes (Redis, or in-process). */
  shared: SharedState;
  close(): Promise<void>;
}

export interface InfrastructureOptions {
  logger: Logger;
  clock?: Clock;
  random?: Random;
  /** The region topology; default: read from MERIDIAN_REGIONS_FILE when set. */
  topology?: Topology;
  /** Opens the stores over an already open database (tests share one per file); the default opens the configured one. */
  openStorage?: (opts: StorageOptions) => Storage | Promise<Storage>;
  queryObserver?: QueryObserver;
}

export async function openInfrastructure(config: Config, opts: InfrastructureOptions): Promise<Infrastructure> {
  const { logger } = opts;
  const clock = opts.clock ?? systemClock;
  const random = opts.random ?? systemRandom;
  // Read first: a bad regions file stops start-up before anything else is touched.
  const topology = opts.topology ?? (config.regionsFile ? loadTopologyFile(config.regionsFile) : undefined);
  const master = resolveMasterKey(config.masterKey, config.dataDir, random);
  if (master.origin === 'generated') logger.warn({ dataDir: config.dataDir }, 'generated a new master key in the data directory');
  if (master.origin !== 'config' && config.databaseUrl?.startsWith('postgres')) {
    logger.warn('MERIDIAN_MASTER_KEY is not set: every server of this region must share the same master key');
  }
  const resources = new Resources();
  return resources.unwindOnFailure(async () => {
    const storageOptions: StorageOptions = { replicate: topology !== undefined };
    const storage = resources.add(
      opts.openStorage
        ? await opts.openStorage(storageOptions)
        : await openStorage(
            { databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: config.dbPoolSize, observer: opts.queryObserver },
            storageOptions,
            parseShards(config.shards),
          ),
      (s) => s.close(),
    );
    const metrics = createMetrics(config.region);
    storage.observe((e) => {
      metrics.dbQueries.inc({ statement: e.statement, result: e.ok ? 'ok' : 'error' });
      metrics.dbQuerySeconds.observe({ statement: e.statement }, e.seconds);
      if (e.shard) metrics.shardQueries.inc({ shard: e.shard, statement: e.statement });
    });
    const applied = await storage.migrate(logger);
    if (applied.length) logger.info({ applied }, 'database migrated');
    const audit = createAudit(logger, config.region, metrics);
    const shared = resources.add(await openSharedState(config, { logger, clock, metrics, audit }), (s) => s.close());
    if (shared.kind === 'memory' && storage.kind === 'postgres') {
      logger.warn('REDIS_URL is not set: cache, throttling and revocations are per process, so run one server per region or set REDIS_URL');
    }
    return { config, logger, clock, random, topology, masterKey: master.key, metrics, audit, storage, shared, close: () => resources.close() };
  });
}
