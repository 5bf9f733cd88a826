import type { Logger } from 'pino';
import type { KeyRing } from '../auth/keys.js';
import type { RemoteRegions, UsernameClaims, UsernameDirectory } from '../auth/regions.js';
import type { Config } from '../config/schema.js';
import type { Metrics } from '../observability/metrics.js';
import type { Storage } from '../storage/storage.js';
import { PeerUsernameClaims, RegionalDirectory } from './directory.js';
import { KeySync } from './key-sync.js';
import { PeerClient } from './peer-client.js';
import { PeerRegions } from './remote.js';
import { type ApplyDeps, ReplicationApplier } from './replication-apply.js';
import { regionEntry, type Topology } from './topology.js';

/** What a region of a multi-region topology runs on, besides its own services. */
export interface RegionServices {
  topology: Topology;
  secret: string;
  client: PeerClient;
  /** The username claims table; only in the directory region. */
  localClaims: UsernameClaims | undefined;
  directory: UsernameDirectory;
  remote: RemoteRegions;
  keySync: KeySync;
  /** Applies changes other regions send to /internal/v1/replication. */
  replication: ReplicationApplier;
  close(): void;
}

export interface RegionDeps {
  storage: Pick<Storage, 'users' | 'usernameClaims' | 'replicas'>;
  keys: KeyRing;
  logger: Logger;
  metrics: Metrics;
  /** What applying replicated changes writes to and tells (see replication-apply.ts). */
  replica: Omit<ApplyDeps, 'replicas'>;
}

/** The client for calls to other regions, counted in meridian_region_calls_total. */
export function peerClientFor(config: Config, topology: Topology, metrics: Metrics): PeerClient {
  // loadConfig refuses a regions file without a secret; this guards callers that pass a topology directly.
  if (!config.regionSecret) throw new Error('MERIDIAN_REGION_SECRET is required with a region topology');
  return new PeerClient({
    topology,
    self: config.region,
    secret: config.regionSecret,
    timeoutMs: config.regionTimeoutMs,
    onCall: (target, operation, outcome) => metrics.regionCalls.inc({ target, operation, outcome }),
  });
}

/** Wires the directory, the proxies and key sharing for this region of `topology` (the key sync is started by the caller). */
export function createRegionServices(config: Config, topology: Topology, deps: RegionDeps): RegionServices {
  regionEntry(topology, config.region);
  const client = peerClientFor(config, topology, deps.metrics);
  const secret = config.regionSecret as string;
  const localClaims = topology.directory === config.region ? deps.storage.usernameClaims : undefined;
  const keySync = new KeySync({
    client,
    keys: deps.keys,
    topology,
    self: config.region,
    issuer: config.issuer,
    intervalSeconds: config.keyReloadInterval,
    logger: deps.logger,
  });
  return {
    topology,
    secret,
    client,
    localClaims,
    directory: new RegionalDirectory(localClaims ?? new PeerUsernameClaims(client, topology.directory), deps.storage.users),
    remote: new PeerRegions(client),
    keySync,
    replication: new ReplicationApplier({ replicas: deps.storage.replicas, ...deps.replica }),
    close: () => keySync.stop(),
  };
}
