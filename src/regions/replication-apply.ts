import type { RevocationSink } from '../auth/sessions.js';
import type { Audit } from '../observability/audit.js';
import type { RefreshCache } from '../storage/cache/refresh-cache.js';
import type { Db, Queryable } from '../storage/postgres/db.js';
import type { PgSessionStore } from '../storage/postgres/repositories.js';
import { SQL } from '../storage/postgres/sql.js';
import { currentState } from '../jobs/cache-sync.js';
import type { Clock } from '../util/runtime.js';
import type { ReplicatedRevocation, ReplicatedToken, ReplicationEvent, ReplicationKind } from './replication-events.js';

export interface ApplyDeps {
  db: Db;
  /** This region's sessions, written through to its cache; a double spend is revoked through it (and so replicated). */
  sessions: PgSessionStore;
  cache: RefreshCache;
  /** The revocation set of this process, which also publishes on the region's channel. */
  revocations: RevocationSink;
  audit: Audit;
  clock: Clock;
  /** The refresh grace window: two spends of one token closer than this are one retry, as in one region. */
  graceMs: number;
}

/** How each kind is named in the replication metrics. */
const METRIC_KIND: Record<ReplicationKind, string> = { user_created: 'user', created: 'session', rotated: 'rotation', revoked: 'revocation' };

const date = (t: number | null): Date | null => (t === null ? null : new Date(t));

/**
 * Applies changes replicated from another region to this region's
 * PostgreSQL. Every step is a merge that only moves forward (the highest
 * generation, the earliest revocation, a consumption never undone; see the
 * upsert-replica-*.sql files), so applying an event twice, late or out of
 * order ends where applying each once in order would, and a revocation is
 * never undone by a late rotation.
 *
 * Two regions that both rotated the same token before hearing of each other
 * (a double spend) are found here, when the second rotation arrives where
 * the first was made: the token is consumed here with another child, or at a
 * time further from the other spend than the grace window. The family is
 * then revoked here, and that revocation goes to every region.
 */
export class ReplicationApplier {
  constructor(private readonly d: ApplyDeps) {}

  /** Applies a batch from `origin`, in order; resolves with how many events were applied. */
  async apply(origin: string, events: ReplicationEvent[]): Promise<number> {
    for (const e of events) await this.applyOne(origin, e);
    return events.length;
  }

  private async applyOne(origin: string, e: ReplicationEvent): Promise<void> {
    const { doubleSpend, revocation } = await this.d.db.transaction(async (tx) => {
      if (e.user) await upsertUser(tx, e);
      let spent = false;
      if (e.family) {
        spent = await this.spentTwice(tx, e);
        const f = e.family;
        await tx.query(SQL.upsertReplicaFamily, [f.id, f.userId, f.region, f.generation, date(f.createdAt), date(f.expiresAt), date(f.lastUsedAt), date(f.revokedAt), f.revokedReason]);
        for (const t of e.tokens) await upsertToken(tx, t);
      }
      const rev = revocationOf(e);
      if (rev) await tx.query(SQL.recordReplicatedRevocation, [rev.sessionId, rev.userId, date(rev.revokedAt), date(this.d.clock.now()), rev.reason]);
      return { doubleSpend: spent, revocation: rev };
    });
    // Enforced by this process at once, and published to the region's other processes (and the revocation feed).
    if (revocation) this.d.revocations.add(revocation.sessionId, revocation.revokedAt);
    if (doubleSpend && e.family) await this.revokeDoubleSpend(e.family.id, e.family.userId);
    if (e.family || revocation) await this.refreshCache(e);
    const sessionId = e.family?.id ?? revocation?.sessionId;
    this.d.audit('replication.applied', {
      userId: e.user?.id ?? revocation?.userId,
      sessionId,
      peer: origin,
      kind: METRIC_KIND[e.kind],
      lagSeconds: Math.max(0, this.d.clock.now() - e.at) / 1000,
    });
  }

  /** True when a rotation in the event spent a token that was spent here too, differently. */
  private async spentTwice(tx: Queryable, e: ReplicationEvent): Promise<boolean> {
    for (const child of e.tokens) {
      const parent = e.tokens.find((t) => t.hash === child.parentHash);
      if (!parent || parent.consumedAt === null) continue;
      const { rows } = await tx.query<{ consumed_at: Date | null; child_hash: string | null }>(SQL.lockReplicaSpend, [child.sessionId, parent.hash]);
      const here = rows[0];
      if (!here?.consumed_at || !here.child_hash) continue;
      if (here.child_hash !== child.hash) return true;
      if (Math.abs(new Date(here.consumed_at).getTime() - parent.consumedAt) > this.d.graceMs) return true;
    }
    return false;
  }

  private async revokeDoubleSpend(sessionId: string, userId: string): Promise<void> {
    const now = this.d.clock.now();
    // Through the outbox like any revocation here: it goes to every region.
    const revoked = await this.d.sessions.revoke(sessionId, userId, now, 'reuse');
    this.d.revocations.add(sessionId, now);
    if (revoked) this.d.audit('token.reuse_detected', { userId, sessionId, cause: 'double_spend', path: 'replica' });
  }

  private async refreshCache(e: ReplicationEvent): Promise<void> {
    const sessionId = e.family?.id ?? e.revocation?.sessionId;
    if (!sessionId) return;
    const change = await currentState(this.d.sessions, sessionId, e.tokens.map((t) => t.hash));
    await this.d.cache.tryWrite(change, 'sync');
  }
}

function revocationOf(e: ReplicationEvent): ReplicatedRevocation | undefined {
  if (e.revocation) return e.revocation;
  const f = e.family;
  return f && f.revokedAt !== null ? { sessionId: f.id, userId: f.userId, revokedAt: f.revokedAt, reason: f.revokedReason ?? 'revoked' } : undefined;
}

async function upsertUser(tx: Queryable, e: ReplicationEvent): Promise<void> {
  const u = e.user!;
  await tx.query(SQL.upsertReplicaUser, [u.id, u.username, u.usernameNormalized, u.passwordHash, u.homeRegion, u.disabled, date(u.createdAt), date(u.updatedAt), date(u.passwordChangedAt)]);
}

async function upsertToken(tx: Queryable, t: ReplicatedToken): Promise<void> {
  await tx.query(SQL.upsertReplicaToken, [t.hash, t.sessionId, t.userId, t.region, t.generation, t.parentHash, date(t.createdAt), date(t.expiresAt), date(t.consumedAt)]);
}
