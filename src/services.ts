import type { CounterStore } from './auth/counters.js';
import type { PasswordHasher } from './auth/passwords.js';
import type { Config } from './config/schema.js';
import type { Topology } from './regions/topology.js';
import { buildDomain, type Domain } from './runtime/domain.js';
import { type Infrastructure, type InfrastructureOptions, openInfrastructure } from './runtime/infrastructure.js';
import { Resources } from './runtime/resources.js';
import { startDomain } from './runtime/start.js';

/** Everything a region's API process runs on: its infrastructure and the domain over it. */
export interface Services extends Omit<Infrastructure, 'close' | 'random' | 'masterKey' | 'topology'>, Domain {
  /** State of each dependency, for /readyz. */
  readiness(): Promise<Record<string, DependencyState>>;
  close(): Promise<void>;
}

export type DependencyState = 'ok' | 'degraded' | 'down';

export interface ServiceOptions extends InfrastructureOptions {
  counters?: CounterStore;
  hasher?: PasswordHasher;
  /** The region topology; default: read from MERIDIAN_REGIONS_FILE when set. */
  topology?: Topology;
}

/**
 * An API process's services, in three steps that the worker shares the first
 * of: open the infrastructure, build the domain over it (no I/O), start its
 * background parts. A failure at any step closes what the steps before it
 * opened.
 */
export async function createServices(config: Config, opts: ServiceOptions): Promise<Services> {
  const resources = new Resources();
  return resources.unwindOnFailure(async () => {
    const infra = resources.add(await openInfrastructure(config, opts), (i) => i.close());
    const domain = buildDomain(infra, { counters: opts.counters, hasher: opts.hasher });
    await startDomain(infra, domain, resources);
    const { storage, shared } = infra;
    return {
      config,
      logger: infra.logger,
      clock: infra.clock,
      metrics: infra.metrics,
      audit: infra.audit,
      storage,
      shared,
      ...domain,
      async readiness() {
        const [down, cache] = await Promise.all([storage.unreachable(2000), shared.state()]);
        const checks: Record<string, DependencyState> = { database: down.length ? 'down' : 'ok', cache };
        // A sharded region names each shard: one that is down fails only the requests for its slots.
        if (storage.shardNames.length > 1) for (const name of storage.shardNames) checks[`shard:${name}`] = down.includes(name) ? 'down' : 'ok';
        // Without Redis every request is served from PostgreSQL: slower, not down ("degraded").
        return checks;
      },
      close: () => resources.close(),
    };
  });
}
