import { sampleServiceGauges } from '../observability/gauges.js';
import type { Domain } from './domain.js';
import type { Infrastructure } from './infrastructure.js';
import type { Resources } from './resources.js';

/**
 * Starts what an API process runs beside its requests: loads the key ring
 * and keeps reloading it, loads and follows the region's revocations, shares
 * keys with the other regions, and samples the gauges. Each started piece is
 * registered with `resources`, so it stops when they close.
 */
export async function startDomain(infra: Infrastructure, domain: Domain, resources: Resources): Promise<void> {
  const { config, logger, metrics, storage, clock } = infra;
  await domain.keys.init();
  domain.keys.startAutoReload(config.keyReloadInterval, (err) => logger.error({ err }, 'signing key reload failed'));
  resources.add(domain.keys, (k) => k.stop());
  resources.add(domain.revocationSync, (r) => r.stop());
  await domain.revocationSync.start();
  if (domain.regions) {
    domain.regions.keySync.start();
    resources.add(domain.regions, (r) => r.close());
  }
  sampleServiceGauges(metrics, {
    storage,
    revocations: domain.revocations,
    clock,
    refreshIdleSeconds: config.refreshIdleTtl,
    pendingRotations: infra.shared.rotations,
  });
}
