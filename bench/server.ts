/**
 * Meridian as the benchmark runs it: the real app from the environment's
 * configuration, plus two bench-only routes on the same server:
 * `GET /bench/bare` (a bare Fastify route, the baseline for /v1/auth/me) and
 * `GET /bench/lag` (event-loop delay p99 since the previous call, in ms).
 * Logs to bench/results/meridian.log (written anew each run). Prints `{"port": N}` on stdout when listening.
 */
import { mkdirSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import pino from 'pino';
import { buildApp } from '../src/app.js';
import { loadConfigFromEnv } from '../src/config/load.js';
import { createLogger } from '../src/observability/logger.js';
import { createServices } from '../src/services.js';

const config = loadConfigFromEnv();
// Logs go to a file, as a region's go to its collector: writing them is part of what a request costs.
mkdirSync('bench/results', { recursive: true });
const services = await createServices(config, {
  logger: createLogger(config.logLevel, pino.destination({ dest: 'bench/results/meridian.log', append: false })),
});
const app = await buildApp(services);
const lag = monitorEventLoopDelay({ resolution: 1 });
lag.enable();

app.get('/bench/bare', async () => ({ ok: true }));
app.get('/bench/lag', async () => {
  const p99 = lag.percentile(99) / 1e6;
  const max = lag.max / 1e6;
  lag.reset();
  return { p99, max };
});

await app.listen({ port: 0, host: '127.0.0.1' });
const address = app.server.address();
process.stdout.write(`${JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 })}\n`);
process.on('SIGTERM', () => {
  void app
    .close()
    .then(() => services.close())
    .then(() => process.exit(0));
});
