import type { RevocationSink } from '../auth/sessions.js';
import type { Audit } from '../observability/audit.js';
import type { DoubleSpendRule, ReplicaStore } from '../storage/background.js';
import type { RefreshCache } from '../storage/cache/refresh-cache.js';
import { type ReplicatedSessionsEnded, type ReplicationEvent, type ReplicationKind, revocationOf } from '../storage/replication-records.js';
import type { SessionStorage } from '../storage/storage.js';
import { currentState } from '../jobs/cache-sync.js';
import type { Clock } from '../util/runtime.js';

export interface ApplyDeps {
  replicas: ReplicaStore;
  /** This region's sessions, written through to its cache; a double spend is revoked through it (and so replicated). */
  sessions: SessionStorage;
  cache: RefreshCache;
  /** The revocation set of this process, which also publishes on the region's channel. */
  revocations: RevocationSink;
  audit: Audit;
  clock: Clock;
  /** The refresh grace window: two spends of one token closer than this are one retry, as in one region. */
  graceMs: number;
}

/** How each kind is named in the replication metrics. */
const METRIC_KIND: Record<ReplicationKind, string> = {
  user_created: 'user',
  user_updated: 'user',
  user_deleted: 'deletion',
  created: 'session',
  rotated: 'rotation',
  revoked: 'revocation',
  sessions_ended: 'revocation',
};

/**
 * Applies changes replicated from another region to this region's state.
 * Every step is a merge that only moves forward (see ReplicaStore), so
 * applying an event twice, late or out of order ends where applying each
 * once in order would, and a revocation is never undone by a late rotation.
 *
 * Two regions that both rotated the same generation before hearing of each
 * other (a double spend) are found here, when the second rotation arrives
 * where the first was made: both minted the same generation (successors are
 * deterministic, so both handed out the same token), at times further apart
 * than the grace window. The family is then revoked here, and that
 * revocation goes to every region. Closer than the window, the two are one
 * retry that landed in two regions, as a retry in one region is.
 */
export class ReplicationApplier {
  constructor(private readonly d: ApplyDeps) {}

  /** Applies a batch from `origin`, in order; resolves with how many events were applied. */
  async apply(origin: string, events: ReplicationEvent[]): Promise<number> {
    for (const e of events) await this.applyOne(origin, e);
    return events.length;
  }

  private async applyOne(origin: string, e: ReplicationEvent): Promise<void> {
    const { doubleSpend } = await this.d.replicas.apply(e, this.spentTwice, this.d.clock.now());
    const revocation = revocationOf(e);
    // Enforced by this process at once, and published to the region's other processes (and the revocation feed).
    if (revocation) this.d.revocations.add(revocation.sessionId, revocation.revokedAt);
    if (doubleSpend && e.family) await this.revokeDoubleSpend(e.family.id, e.family.userId);
    if (e.sessionsEnded) await this.endSessions(e.sessionsEnded);
    if (e.family || revocation) await this.refreshCache(e);
    const sessionId = e.family?.id ?? revocation?.sessionId;
    this.d.audit('replication.applied', {
      userId: e.user?.id ?? revocation?.userId ?? e.deletion?.userId ?? e.sessionsEnded?.userId,
      sessionId,
      peer: origin,
      kind: METRIC_KIND[e.kind],
      lagSeconds: Math.max(0, this.d.clock.now() - e.at) / 1000,
    });
  }

  /**
   * One generation minted here and there, further apart than a retry can be: the generation both
   * hold, or the one before where either side has rotated past it once (each keeps when it minted
   * the generation before its live one).
   */
  private readonly spentTwice: DoubleSpendRule = (there, here) => {
    const apart = (a: number | null | undefined, b: number | null | undefined) => a != null && b != null && Math.abs(a - b) > this.d.graceMs;
    if (there.generation === 0) return false;
    if (here.generation === there.generation) return apart(here.rotatedAt, there.lastUsedAt);
    if (here.generation === there.generation + 1) return apart(here.previousRotatedAt, there.lastUsedAt);
    if (there.generation === here.generation + 1 && here.generation > 0) return apart(there.previousRotatedAt, here.rotatedAt);
    return false;
  };

  private async revokeDoubleSpend(sessionId: string, userId: string): Promise<void> {
    const now = this.d.clock.now();
    // Through the outbox like any revocation here: it goes to every region.
    const revoked = await this.d.sessions.revoke(sessionId, userId, now, 'reuse');
    this.d.revocations.add(sessionId, now);
    if (revoked) this.d.audit('token.reuse_detected', { userId, sessionId, cause: 'double_spend', path: 'replica' });
  }

  /** Another region ended every session of a user: so do the ones held here that it may not have known of. */
  private async endSessions(x: ReplicatedSessionsEnded): Promise<void> {
    const now = this.d.clock.now();
    for (const sid of await this.d.sessions.endSessionsStartedBefore(x.userId, x.endedAt, x.kept, now)) this.d.revocations.add(sid, now);
  }

  private async refreshCache(e: ReplicationEvent): Promise<void> {
    const sessionId = e.family?.id ?? e.revocation?.sessionId;
    if (!sessionId) return;
    const change = await currentState(this.d.sessions, sessionId);
    await this.d.cache.tryWrite(change, 'sync');
  }
}
