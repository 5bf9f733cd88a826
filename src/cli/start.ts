import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import type { Logger } from 'pino';
import { buildApp } from '../app.js';
import type { Config } from '../config/schema.js';
import { startWorkerTier } from '../jobs/worker-tier.js';
import { createServices } from '../services.js';
import { ConfigError } from '../config/load.js';
import { runCluster } from './cluster.js';

/**
 * How many processes serve: --workers, else one per core when the region's
 * state is shared (PostgreSQL and Redis), else one. Several processes need
 * both: PGlite belongs to one process, and without Redis the cache,
 * throttling and revocations would each be per process.
 */
export function resolveWorkers(config: Config, requested: number | undefined): number {
  const shared = !!config.redisUrl && !!config.databaseUrl?.startsWith('postgres');
  if (requested === undefined) return shared ? availableParallelism() : 1;
  if (!Number.isInteger(requested) || requested < 1 || requested > 256) throw new ConfigError('--workers must be a whole number from 1 to 256');
  if (requested > 1 && !shared) throw new ConfigError('--workers above 1 needs DATABASE_URL (PostgreSQL) and REDIS_URL: the processes must share their state');
  return requested;
}

/** `meridian start [--workers N]`. Returns -1: the process lives on. */
export async function startCommand(config: Config, logger: Logger, opts: { workers?: number } = {}): Promise<number> {
  if (cluster.isWorker) return serve(config, logger, false);
  const workers = resolveWorkers(config, opts.workers);
  if (workers > 1) return runCluster(config, logger, workers);
  return serve(config, logger, true);
}

/** Runs one API server until SIGINT or SIGTERM, then drains and closes. */
async function serve(config: Config, logger: Logger, banner: boolean): Promise<number> {
  const services = await createServices(config, { logger });
  // Without Redis this process is the whole region, background jobs included; with Redis they run in `meridian worker`.
  const tier = config.redisUrl
    ? undefined
    : await startWorkerTier({
        config,
        storage: services.storage,
        shared: services.shared,
        clock: services.clock,
        logger,
        metrics: services.metrics,
        topology: services.regions?.topology,
      });
  const app = await buildApp(services);
  const address = await app.listen({ port: config.port, host: config.host });
  const url = address.replace('[::1]', 'localhost');
  if (banner) {
    const store = config.databaseUrl?.startsWith('postgres') ? 'PostgreSQL' : `embedded PGlite in ${config.dataDir}`;
    const jobs = config.redisUrl ? 'Redis (run `meridian worker` for background jobs)' : 'in-process cache and jobs';
    process.stdout.write(
      `\nMeridian (region ${config.region}) listening on ${url} with ${store}, ${jobs}\n` +
        `  curl -s -XPOST ${url}/v1/auth/register -H 'content-type: application/json' -d '{"username":"alice","password":"correct horse battery staple"}'\n` +
        `  curl -s -XPOST ${url}/v1/auth/login -H 'content-type: application/json' -d '{"username":"alice","password":"correct horse battery staple"}'\n\n`,
    );
  }
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    await app.close();
    await tier?.close();
    await services.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
  return -1;
}
