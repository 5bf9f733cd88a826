import { createServer, type Server } from 'node:http';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { startWorkerTier } from '../jobs/worker-tier.js';
import { createAudit } from '../observability/audit.js';
import { createMetrics, type Metrics } from '../observability/metrics.js';
import { openDatabase } from '../storage/postgres/drivers.js';
import { migrate } from '../storage/postgres/migrate.js';
import { loadTopologyFile } from '../regions/topology.js';
import { openSharedState } from '../storage/shared.js';
import { systemClock } from '../util/runtime.js';

/**
 * `meridian worker`: the region's background tier on BullMQ (outbox relay,
 * cache sync, scheduled cleanup, replication to other regions), with its own /metrics. Run as many as
 * wanted; they share the queues. SIGTERM finishes running jobs, then exits.
 * Returns -1: the process lives on.
 */
export async function workerCommand(config: Config, logger: Logger): Promise<number> {
  if (!config.redisUrl) {
    console.error('meridian worker: REDIS_URL is not set. Without Redis the background jobs run inside `meridian start`.');
    return 1;
  }
  const metrics = createMetrics(config.region);
  const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: config.dbPoolSize });
  db.observe((e) => {
    metrics.dbQueries.inc({ statement: e.statement, result: e.ok ? 'ok' : 'error' });
    metrics.dbQuerySeconds.observe({ statement: e.statement }, e.seconds);
  });
  await migrate(db, { log: logger });
  const shared = await openSharedState(config, { logger, clock: systemClock, metrics, audit: createAudit(logger, config.region, metrics) });
  const topology = config.regionsFile ? loadTopologyFile(config.regionsFile) : undefined;
  const tier = await startWorkerTier({ config, db, shared, clock: systemClock, logger, metrics, topology });
  const server = await serveMetrics(config, metrics);
  const address = server.address();
  logger.info({ metricsPort: typeof address === 'object' && address ? address.port : undefined }, 'worker started');

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'worker shutting down: finishing running jobs');
    server.close();
    await tier.close();
    await shared.close();
    await db.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
  return -1;
}

async function serveMetrics(config: Config, metrics: Metrics): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url === '/metrics') {
      metrics.exposition().then(
        (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
        () => res.writeHead(500).end(),
      );
    } else if (req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(config.workerMetricsPort, config.host, resolve));
  return server;
}
