/** A `meridian cluster` of one region, in this process, as the cluster tests run it (children run from the sources). */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { childEnv } from '../src/config/load.js';
import { LocalCluster } from '../src/devcluster/cluster.js';
import { createLogger } from '../src/observability/logger.js';
import { PG_SERVER } from './helpers.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

export function oneRegionCluster(o: { dataDir: string; prefix: string; gatewayPort: number; ha?: boolean }): LocalCluster {
  return new LocalCluster({
    postgresUrl: PG_SERVER,
    dbPrefix: o.prefix,
    dataDir: o.dataDir,
    host: '127.0.0.1',
    gatewayPort: o.gatewayPort,
    meridian: [process.execPath, '--import', 'tsx', join(ROOT, 'src/cli/main.ts')],
    env: (overrides) => childEnv({ MERIDIAN_REGIONS_FILE: '', MERIDIAN_REGION_SECRET: '', ...overrides }),
    logLevel: 'warn',
    apiProcesses: 1,
    logger: createLogger('silent'),
    regions: [{ id: 'us-east', location: { lat: 38.9, lon: -77.0 } }],
    readyTimeoutMs: 60_000,
    ha: o.ha,
  });
}
