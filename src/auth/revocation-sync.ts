import type { Logger } from 'pino';
import type { Metrics } from '../observability/metrics.js';
import type { Clock } from '../util/runtime.js';
import type { RevocationSet } from './revocations.js';
import type { RevocationSink } from './sessions.js';
import type { SessionStore } from './stores.js';

/** A channel carrying revoked session ids to every API process of a region (Redis pub/sub). */
export interface RevocationBus {
  publish(sessionId: string, revokedAt: number): Promise<void>;
  /** Starts listening; resolves once subscribed, or after a short wait when the bus is unreachable now. */
  listen(handlers: BusHandlers): Promise<void>;
  /** True while revocations published elsewhere are being delivered here. */
  readonly connected: boolean;
  close(): Promise<void>;
}

export interface BusHandlers {
  revoked(sessionId: string, revokedAt: number): void;
  /** Subscribed again after an outage: whatever was published meanwhile was missed. */
  resubscribed(): void;
}

export interface RevocationSyncDeps {
  set: RevocationSet;
  bus?: RevocationBus;
  /** PostgreSQL, the source of truth for revocations. */
  store: Pick<SessionStore, 'revokedSince'>;
  clock: Clock;
  /** How far back a revocation still matters (the longest access-token lifetime). */
  retentionMs: number;
  /** Read new revocations from the database while no bus delivers them; off when this is the only process. */
  pollWhileDisconnected: boolean;
  /** Leeway for clocks of servers that stamp `revoked_at`. */
  overlapMs: number;
  logger: Logger;
  metrics: Metrics;
}

/** The bound stated in docs/architecture.md: a revocation reaches every process of the region within this. */
export const REVOCATION_BOUND_MS = 1000;
/**
 * How often the database is polled while the bus is down. A quarter of the
 * bound: a revocation committed just after a poll is found by the next one,
 * and the query (an index range scan of recent revocations) has the rest of
 * the second to answer, even on a loaded database.
 */
export const REVOCATION_POLL_MS = REVOCATION_BOUND_MS / 4;

/**
 * Keeps this process's RevocationSet in step with the region. A revocation
 * made here goes into the set at once and out on the bus; revocations made
 * elsewhere come in from the bus. Whenever delivery may have had a gap (at
 * start, after the bus reconnects) the set is reloaded from PostgreSQL, and
 * while the bus is down the database is polled every REVOCATION_POLL_MS, so
 * the bound holds with Redis down too.
 */
export class RevocationSync implements RevocationSink {
  private timer: NodeJS.Timeout | undefined;
  private polledUpTo: number;
  private pollFailing = false;

  constructor(private readonly d: RevocationSyncDeps) {
    this.polledUpTo = d.clock.now();
  }

  has(sessionId: string): boolean {
    return this.d.set.has(sessionId);
  }

  add(sessionId: string, revokedAt = this.d.clock.now()): void {
    this.d.set.add(sessionId, revokedAt);
    this.d.bus?.publish(sessionId, revokedAt).catch(() => {
      // Others learn of it from their database poll (bus down) or the worker's outbox sync.
      this.d.metrics.cacheFallbacks.inc({ operation: 'revocation_publish' });
    });
  }

  async start(): Promise<void> {
    await this.d.bus?.listen({
      revoked: (sid, at) => this.received(sid, at, 'channel'),
      resubscribed: () => void this.resync(),
    });
    await this.resync();
    if (this.d.pollWhileDisconnected) {
      this.timer = setInterval(() => void this.poll(), REVOCATION_POLL_MS);
      this.timer.unref();
    }
  }

  /** Loads every revocation that still matters from the database. */
  async resync(): Promise<void> {
    const now = this.d.clock.now();
    try {
      for (const r of await this.d.store.revokedSince(now - this.d.retentionMs)) this.received(r.id, r.revokedAt, 'resync');
      this.polledUpTo = Math.max(this.polledUpTo, now);
    } catch (err) {
      this.d.logger.warn({ err }, 'could not reload revoked sessions from the database');
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async poll(): Promise<void> {
    if (this.d.bus?.connected) return;
    const now = this.d.clock.now();
    try {
      for (const r of await this.d.store.revokedSince(this.polledUpTo - this.d.overlapMs)) this.received(r.id, r.revokedAt, 'poll');
      this.polledUpTo = now;
      if (this.pollFailing) this.d.logger.info('revocation poll working again');
      this.pollFailing = false;
    } catch (err) {
      // The database is down too; the next tick tries again. Told once per run of failures.
      if (!this.pollFailing) this.d.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'revocation poll failed; retried every tick');
      this.pollFailing = true;
    }
  }

  private received(sessionId: string, revokedAt: number, source: 'channel' | 'resync' | 'poll'): void {
    if (this.d.set.has(sessionId)) return;
    this.d.set.add(sessionId, revokedAt);
    this.d.metrics.revocationsReceived.inc({ source });
  }
}
