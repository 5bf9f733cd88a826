import type { Logger } from 'pino';
import { buildApp } from '../app.js';
import type { Config } from '../config/schema.js';
import { createServices } from '../services.js';
import { onShutdown } from './shutdown.js';

/** Runs the API server until SIGINT or SIGTERM, then drains and closes. Returns -1: the process lives on. */
export async function startCommand(config: Config, logger: Logger): Promise<number> {
  const services = await createServices(config, { logger });
  const app = await buildApp(services);
  const address = await app.listen({ port: config.port, host: config.host });
  const url = address.replace('[::1]', 'localhost');
  const store = config.databaseUrl?.startsWith('postgres') ? 'PostgreSQL' : `embedded PGlite in ${config.dataDir}`;
  process.stdout.write(
    `\nMeridian (region ${config.region}) listening on ${url} with ${store}\n` +
      `  curl -s -XPOST ${url}/v1/auth/register -H 'content-type: application/json' -d '{"username":"alice","password":"correct horse battery staple"}'\n` +
      `  curl -s -XPOST ${url}/v1/auth/login -H 'content-type: application/json' -d '{"username":"alice","password":"correct horse battery staple"}'\n\n`,
  );
  onShutdown(logger, async () => {
    await app.close();
    await services.close();
  });
  return -1;
}
