import type { Logger } from 'pino';
import { type Repeating, repeat } from '../util/repeat.js';
import type { RegionInfo } from '../regions/topology.js';

export interface HealthOptions {
  regions: readonly RegionInfo[];
  /** Milliseconds between checks of each region's /readyz. */
  intervalMs: number;
  /** Milliseconds a check may take; default 1000. */
  timeoutMs?: number;
  logger: Logger;
}

// One slow answer on a busy machine is not an outage: a region is down after this many failed checks in a row.
const FAILED_CHECKS_TO_DOWN = 2;

/**
 * Which regions answer their readiness check, polled every `intervalMs`. A
 * region is healthy while its /readyz answers 200, and unhealthy after two
 * failed checks in a row or at once when a connection to it fails; one
 * passing check makes it healthy again. Until its first check a region counts
 * as healthy, so a gateway that has just started routes at once.
 */
export class HealthMonitor {
  private readonly healthy = new Map<string, boolean>();
  private readonly failures = new Map<string, number>();
  private loop: Repeating | undefined;

  constructor(private readonly o: HealthOptions) {}

  isHealthy(region: string): boolean {
    return this.healthy.get(region) ?? true;
  }

  /** Called when forwarding could not reach a region: stop sending there until a check passes. */
  markDown(region: string, reason: string): void {
    this.failures.set(region, FAILED_CHECKS_TO_DOWN);
    this.set(region, false, reason);
  }

  /** One check of every region. */
  async checkAll(): Promise<void> {
    await Promise.all(this.o.regions.map((r) => this.check(r)));
  }

  start(): void {
    this.loop = repeat(
      () => this.checkAll(),
      () => this.o.intervalMs,
    );
  }

  stop(): void {
    this.loop?.stop();
  }

  private async check(r: RegionInfo): Promise<void> {
    let problem: string;
    try {
      const res = await fetch(`${r.url}/readyz`, { signal: AbortSignal.timeout(this.o.timeoutMs ?? 1000) });
      await res.arrayBuffer();
      if (res.status === 200) {
        this.failures.set(r.id, 0);
        return this.set(r.id, true, 'readyz answered 200');
      }
      problem = `readyz answered ${res.status}`;
    } catch (err) {
      problem = `readyz failed: ${(err as Error).message}`;
    }
    const failed = (this.failures.get(r.id) ?? 0) + 1;
    this.failures.set(r.id, failed);
    if (failed >= FAILED_CHECKS_TO_DOWN) this.set(r.id, false, problem);
  }

  private set(region: string, healthy: boolean, reason: string): void {
    const was = this.healthy.get(region);
    this.healthy.set(region, healthy);
    if (was === healthy) return;
    if (healthy) this.o.logger.info({ region }, 'region is healthy');
    else this.o.logger.warn({ region, reason }, 'region is unhealthy: routing around it');
  }
}
