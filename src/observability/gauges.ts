import type { RotationLedger } from '../storage/background.js';
import type { Storage } from '../storage/storage.js';
import type { Clock } from '../util/runtime.js';
import type { Metrics } from './metrics.js';

/** Counting sessions is a query: scrapes (and the dashboard) within this window reuse the last count. */
export const ACTIVE_SESSIONS_EVERY_MS = 5_000;

export interface GaugeSources {
  storage: Pick<Storage, 'poolStats' | 'stats'>;
  revocations: { readonly size: number };
  clock: Clock;
  refreshIdleSeconds: number;
  /** Write-behind rotations owed to PostgreSQL (write-behind mode): counted by API processes too, so a region with no worker shows them. */
  pendingRotations?: Pick<RotationLedger, 'count'>;
}

/**
 * Registers the samplers of the gauges an API process reads rather than
 * counts: the in-memory revocation set, the connection pool and the number
 * of active sessions.
 */
export function sampleServiceGauges(metrics: Metrics, s: GaugeSources): void {
  metrics.onScrape(() => {
    metrics.revokedSessions.set(s.revocations.size);
  });
  metrics.onScrape(() => {
    const pool = s.storage.poolStats();
    metrics.dbPoolMax.set(pool.max);
    metrics.dbPoolInUse.set(pool.inUse);
    metrics.dbPoolWaiting.set(pool.waiting);
  });
  let countedAt = Number.NEGATIVE_INFINITY;
  metrics.onScrape(async () => {
    const now = s.clock.now();
    if (now - countedAt < ACTIVE_SESSIONS_EVERY_MS) return;
    // Set before the query, so a failing database is asked again only after the window.
    countedAt = now;
    metrics.activeSessions.set(await s.storage.stats.activeSessions(now, s.refreshIdleSeconds));
  });
  const ledger = s.pendingRotations;
  if (ledger) metrics.onScrape(async () => metrics.rotationsPending.set(await ledger.count()));
}
