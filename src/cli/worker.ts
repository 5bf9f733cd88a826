import { createServer, type Server } from 'node:http';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { startWorkerTier } from '../jobs/worker-tier.js';
import type { Metrics } from '../observability/metrics.js';
import { openInfrastructure } from '../runtime/infrastructure.js';

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
  const infra = await openInfrastructure(config, { logger });
  const { metrics } = infra;
  const tier = await startWorkerTier(infra);
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
    await infra.close();
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
