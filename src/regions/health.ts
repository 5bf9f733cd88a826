import type { Logger } from 'pino';
import { type Repeating, repeat } from '../util/repeat.js';
import type { RegionInfo } from './topology.js';

export interface HealthOptions {
  regions: readonly RegionInfo[];
  /** Milliseconds between checks of each region's /readyz. */
  intervalMs: number;
  logger: Logger;
}

/**
 * Which regions answer their readiness check, polled every `intervalMs`. A
 * region is healthy while its /readyz answers 200 within the interval. Until
 * its first check a region counts as healthy, so a gateway that has just
 * started routes at once; a failed connection marks a region down before its
 * next check.
 */
export class HealthMonitor {
  private readonly state = new Map<string, boolean>();
  private loop: Repeating | undefined;

  constructor(private readonly o: HealthOptions) {}

  isHealthy(region: string): boolean {
    return this.state.get(region) ?? true;
  }

  /** Called when forwarding could not connect: stop sending there until a check passes. */
  markDown(region: string, reason: string): void {
    this.set(region, false, reason);
  }

  /** One check of every region. */
  async checkAll(): Promise<void> {
    await Promise.all(this.o.regions.map((r) => this.check(r)));
  }

  start(): void {
    this.loop = repeat(() => this.checkAll(), () => this.o.intervalMs);
  }

  stop(): void {
    this.loop?.stop();
  }

  private async check(r: RegionInfo): Promise<void> {
    try {
      const res = await fetch(`${r.url}/readyz`, { signal: AbortSignal.timeout(this.o.intervalMs) });
      await res.arrayBuffer();
      this.set(r.id, res.status === 200, `readyz answered ${res.status}`);
    } catch (err) {
      this.set(r.id, false, `readyz failed: ${(err as Error).message}`);
    }
  }

  private set(region: string, healthy: boolean, reason: string): void {
    const was = this.state.get(region);
    this.state.set(region, healthy);
    if (was === healthy) return;
    if (healthy) this.o.logger.info({ region }, 'region is healthy');
    else this.o.logger.warn({ region, reason }, 'region is unhealthy: routing around it');
  }
}
