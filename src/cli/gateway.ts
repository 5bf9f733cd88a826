import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { startGateway } from '../gateway/gateway.js';
import type { Topology } from '../regions/topology.js';
import { onShutdown } from './shutdown.js';

/** `meridian gateway`: routes every request to the nearest healthy region of the topology, until SIGINT or SIGTERM. */
export async function gatewayCommand(config: Config, topology: Topology | undefined, logger: Logger): Promise<number> {
  if (!topology) {
    console.error('meridian gateway: set MERIDIAN_REGIONS_FILE to the regions file (see docs/multi-region.md)');
    return 1;
  }
  const gateway = await startGateway({ topology, port: config.port, host: config.host, logger, bodyLimit: config.bodyLimit });
  process.stdout.write(`Meridian gateway listening on ${gateway.url} for regions ${topology.regions.map((r) => r.id).join(', ')}\n`);
  onShutdown(logger, () => gateway.close());
  return -1;
}
