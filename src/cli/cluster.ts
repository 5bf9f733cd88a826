import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { createServices } from '../services.js';

/** A worker that dies is replaced after this pause, so a crash loop does not spin. */
const RESTART_DELAY_MS = 1000;

/**
 * The primary of `meridian start --workers N`: prepares the database once,
 * then forks N API processes that share the port (node:cluster hands out
 * connections) and the region's PostgreSQL and Redis. A process that dies is
 * replaced; SIGTERM is passed on and the primary exits once all have drained.
 */
export async function runCluster(config: Config, logger: Logger, workers: number): Promise<number> {
  // Migrations and the region's first signing key, once: N processes booting on an empty
  // database would otherwise each create a key, and each start signing with its own.
  const bootstrap = await createServices(config, { logger });
  await bootstrap.close();

  let stopping = false;
  const fork = (): Worker => cluster.fork();
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    logger.error({ pid: worker.process.pid, code, signal }, 'API process died; starting another');
    setTimeout(() => {
      if (!stopping) fork();
    }, RESTART_DELAY_MS).unref();
  });
  for (let i = 0; i < workers; i++) fork();
  logger.info({ workers, port: config.port }, `serving with ${workers} processes`);

  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping API processes');
    const alive = Object.values(cluster.workers ?? {}).filter((w): w is Worker => !!w && !w.isDead());
    if (alive.length === 0) process.exit(0);
    let left = alive.length;
    for (const w of alive) {
      w.once('exit', () => {
        if (--left === 0) process.exit(0);
      });
      w.process.kill(signal);
    }
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
  return -1;
}
