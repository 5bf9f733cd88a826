import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { createServices } from '../services.js';

/** `meridian keys rotate [--now]` and `meridian keys list`. */
export async function keysCommand(config: Config, logger: Logger, sub: string | undefined, opts: { now: boolean }): Promise<number> {
  if (sub !== 'rotate' && sub !== 'list') {
    console.error('usage: meridian keys rotate [--now] | meridian keys list');
    return 1;
  }
  const services = await createServices(config, { logger });
  try {
    if (sub === 'rotate') {
      const kid = await services.keys.rotate(opts.now);
      const when = opts.now ? 'now' : `in ${config.keyPublishDelay} s, once every server has published it`;
      console.log(`added signing key ${kid} (${config.signingAlg}); it signs ${when}`);
    } else {
      console.log(JSON.stringify(JSON.parse(services.keys.jwks()), null, 2));
    }
    return 0;
  } finally {
    await services.close();
  }
}
