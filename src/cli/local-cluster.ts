import type { Logger } from 'pino';
import { childEnv } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { LocalCluster } from '../devcluster/cluster.js';
import { onShutdown } from './shutdown.js';

const DEFAULT_POSTGRES = 'postgres://postgres@127.0.0.1:5432/postgres';

/**
 * `meridian cluster [--db-prefix meridian] [--workers N] [--ha] [--shards N] [--redis-cluster]`: three regions and
 * a gateway on this machine until SIGINT or SIGTERM. The gateway listens on
 * PORT (8080); DATABASE_URL names the PostgreSQL server; each region runs N
 * API processes (default 1) and a worker. With --ha the first region runs on
 * a pg_auto_failover pair and a Sentinel-watched Redis instead. With --shards N
 * each region's rows are spread over N databases, and with --redis-cluster each
 * region's cache and queues over a Redis Cluster (docs/scaling.md).
 */
export async function clusterCommand(
  config: Config,
  logger: Logger,
  opts: { dbPrefix: string; apiProcesses: number; meridian: string[]; ha: boolean; shards: number; redisCluster: boolean },
): Promise<number> {
  const cluster = new LocalCluster({
    postgresUrl: config.databaseUrl?.startsWith('postgres') ? config.databaseUrl : DEFAULT_POSTGRES,
    dbPrefix: opts.dbPrefix,
    dataDir: config.dataDir,
    host: '127.0.0.1',
    gatewayPort: config.port,
    meridian: opts.meridian,
    env: childEnv,
    logLevel: config.logLevel,
    apiProcesses: opts.apiProcesses,
    logger,
    ha: opts.ha,
    shards: opts.shards,
    redisCluster: opts.redisCluster,
  });
  // Registered first: Ctrl-C while starting stops whatever has started.
  onShutdown(logger, () => cluster.stop());
  const info = await cluster.start();
  const width = Math.max(...info.regions.map((r) => r.id.length));
  process.stdout.write(
    `\nMeridian cluster ready: gateway ${info.gateway}\n` +
      info.regions.map((r) => `  ${r.id.padEnd(width)}  ${r.url}  (${r.location.lat}, ${r.location.lon})`).join('\n') +
      `\nEndpoints in ${config.dataDir}/cluster.json, logs in ${config.dataDir}/cluster/logs/. Ctrl-C stops everything.\n\n`,
  );
  return -1;
}
