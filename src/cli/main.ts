#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { ConfigError, describeConfig, loadConfigFromEnv } from '../config/load.js';
import { createLogger } from '../observability/logger.js';
import { loadTopologyFile, withRegionDefaults } from '../regions/topology.js';
import { backfillCommand } from './backfill.js';
import { clusterCommand } from './local-cluster.js';
import { gatewayCommand } from './gateway.js';
import { keysCommand } from './keys.js';
import { migrateCommand } from './migrate.js';
import { shardsCommand } from './shards.js';
import { startCommand } from './start.js';
import { workerCommand } from './worker.js';

const USAGE = `Usage: meridian <command> [options]

Commands:
  start [--workers N]   run this region's API server (N processes on one port; default: one per core
                        when DATABASE_URL and REDIS_URL are set, else 1)
  worker                run the background jobs (outbox relay, cache sync, cleanup) on REDIS_URL,
                        with /metrics on MERIDIAN_WORKER_METRICS_PORT
  migrate               apply pending database migrations and exit
  keys rotate [--now]   add a signing key (published first, signs after MERIDIAN_KEY_PUBLISH_DELAY)
  keys list             list the signing keys in the key set
  backfill <region>     queue this region's users, live sessions and recent revocations for a region
                        newly added to MERIDIAN_REGIONS_FILE (its worker delivers them)
  shards list           each of the region's databases (DATABASE_URL as main, MERIDIAN_SHARDS) and its slots
  shards add <shard>    move an even share of the slots to a shard newly named in MERIDIAN_SHARDS, online
  shards move <a>[-<b>] <shard>
                        move slots a..b to a shard, online (a brief write freeze per slot; docs/scaling.md)
  gateway               route requests to the nearest healthy region (needs MERIDIAN_REGIONS_FILE)
  cluster [--db-prefix meridian] [--workers N] [--ha] [--shards N] [--redis-cluster]
                        run three regions (each: Redis, N API processes, default 1, and a worker) and a
                        gateway on this machine (PORT: gateway, 8080; DATABASE_URL: the PostgreSQL server,
                        default postgres://postgres@127.0.0.1:5432/postgres); --ha: the first region on a
                        PostgreSQL pair under pg_auto_failover and a Redis with a replica and Sentinels
                        --shards N: each region's rows over N PostgreSQL databases (MERIDIAN_SHARDS)
                        --redis-cluster: each region (but the --ha one) on a Redis Cluster, 3 masters + 3 replicas
  config                list every setting with its default

Configuration comes from environment variables; see the README.`;

/** `--shards N`: 1 to 16 databases per region. */
function shardCount(text: string | undefined): number {
  const n = text === undefined ? 1 : Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 16) throw new Error('--shards takes a whole number from 1 to 16');
  return n;
}

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      now: { type: 'boolean', default: false },
      workers: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
      'db-prefix': { type: 'string', default: 'meridian' },
      ha: { type: 'boolean', default: false },
      shards: { type: 'string' },
      'redis-cluster': { type: 'boolean', default: false },
    },
  });
  const [command, sub] = positionals;
  if (values.help || !command) {
    console.log(USAGE);
    return command || values.help ? 0 : 1;
  }
  if (command === 'config') {
    console.log(`| variable | default | meaning |\n|---|---|---|\n${describeConfig()}`);
    return 0;
  }
  const base = loadConfigFromEnv();
  const topology = base.regionsFile ? loadTopologyFile(base.regionsFile) : undefined;
  // A region of a topology takes its database and Redis from it unless set here.
  const config = command === 'gateway' || command === 'cluster' ? base : withRegionDefaults(base, topology);
  const logger = createLogger(config.logLevel);
  switch (command) {
    case 'start':
      return startCommand(config, logger, { workers: values.workers === undefined ? undefined : Number(values.workers) });
    case 'worker':
      return workerCommand(config, logger);
    case 'migrate':
      return migrateCommand(config, logger);
    case 'keys':
      return keysCommand(config, logger, sub, { now: values.now ?? false });
    case 'backfill':
      return backfillCommand(config, topology, logger, sub);
    case 'gateway':
      return gatewayCommand(config, topology, logger);
    case 'shards':
      return shardsCommand(config, logger, positionals.slice(1));
    case 'cluster':
      // Children run `meridian` the way this process was run (node, loader flags, script).
      return clusterCommand(config, logger, {
        dbPrefix: values['db-prefix'] ?? 'meridian',
        apiProcesses: values.workers === undefined ? 1 : Number(values.workers),
        meridian: [process.execPath, ...process.execArgv, process.argv[1] as string],
        ha: values.ha ?? false,
        shards: shardCount(values.shards),
        redisCluster: values['redis-cluster'] ?? false,
      });
    default:
      console.error(`unknown command "${command}"\n\n${USAGE}`);
      return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== -1) process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof ConfigError) {
      console.error(`meridian: configuration error: ${err.message}`);
    } else {
      console.error('meridian: fatal:', err);
    }
    process.exitCode = 1;
  },
);
