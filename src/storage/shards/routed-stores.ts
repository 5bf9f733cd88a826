import type {
  CreatedUser,
  NewSession,
  NewUser,
  RefreshState,
  RevocationReason,
  Rotation,
  SessionSummary,
  UserCredentials,
  UserRecord,
  UserStore,
} from '../../auth/stores.js';
import type { DoubleSpendRule, FlushResult, PendingRotation, ReplicaStore, RotationSink } from '../background.js';
import type { ReplicationEvent } from '../replication-records.js';
import type { SessionStorage } from '../contract.js';
import { slotOfId } from '../../util/slots.js';
import { fromShardsUp, type Placement, sum } from './placement.js';

/*
 * The stores the request path uses, each call sent to the one shard the id or
 * username names (placement.ts): a login, refresh, logout or /me touches one
 * shard and looks nothing up to find it.
 */

export class RoutedUserStore implements UserStore {
  constructor(private readonly at: Placement<UserStore>) {}

  insert(user: NewUser): Promise<CreatedUser | null> {
    // By the username: the unique index that makes a name one user's is on the name's shard.
    return this.at.byName(user.usernameNormalized, (s) => s.insert(user));
  }
  findByUsername(usernameNormalized: string): Promise<UserCredentials | null> {
    return this.at.byName(usernameNormalized, (s) => s.findByUsername(usernameNormalized));
  }
  findById(id: string): Promise<UserRecord | null> {
    return this.at.byId(id, (s) => s.findById(id));
  }
  setPassword(id: string, passwordHash: string, now: number): Promise<boolean> {
    return this.at.byId(id, (s) => s.setPassword(id, passwordHash, now));
  }
  setDisabled(id: string, disabled: boolean, now: number): Promise<boolean> {
    return this.at.byId(id, (s) => s.setDisabled(id, disabled, now));
  }
  delete(id: string, now: number): Promise<boolean> {
    return this.at.byId(id, (s) => s.delete(id, now));
  }
}

export class RoutedSessionStore implements SessionStorage {
  /** For each shard that did not answer `revokedSince`, the earliest time it still owes. */
  private readonly owed = new Map<number, number>();

  constructor(private readonly at: Placement<SessionStorage>) {}

  create(session: NewSession): Promise<boolean> {
    return this.at.byId(session.id, (s) => s.create(session));
  }
  findSession(sessionId: string, opts?: { consistent?: boolean }): Promise<RefreshState | null> {
    return this.at.byId(sessionId, (s) => s.findSession(sessionId, opts));
  }
  async findLegacyToken(tokenHash: string): Promise<{ sessionId: string; generation: number } | null> {
    // A token from before the session-id format names no session, so no shard: every shard is asked.
    // Only regions upgraded from that release hold such tokens, and only until they expire.
    const { values, failed } = await fromShardsUp(this.at.shards, (s) => s.findLegacyToken(tokenHash));
    const found = values.find((f) => f !== null);
    if (found) return found;
    // Not found on the shards that answered: it may be on one that did not.
    if (failed[0]) throw failed[0].error;
    return null;
  }
  rotate(rotation: Rotation): Promise<boolean> {
    return this.at.byId(rotation.from.sessionId, (s) => s.rotate(rotation));
  }
  revoke(sessionId: string, userId: string, now: number, reason: RevocationReason): Promise<boolean> {
    return this.at.byId(sessionId, (s) => s.revoke(sessionId, userId, now, reason));
  }
  revokeAllForUser(userId: string, now: number, reason: RevocationReason, except?: string): Promise<string[]> {
    return this.at.byId(userId, (s) => s.revokeAllForUser(userId, now, reason, except));
  }
  endSessionsStartedBefore(userId: string, before: number, kept: string | null, now: number): Promise<string[]> {
    return this.at.byId(userId, (s) => s.endSessionsStartedBefore(userId, before, kept, now));
  }
  listForUser(userId: string, now: number, idleSince: number): Promise<SessionSummary[]> {
    return this.at.byId(userId, (s) => s.listForUser(userId, now, idleSince));
  }
  /**
   * The revocations of every shard that answers: one shard down must not
   * hide the others' (their access tokens would go on being accepted). A
   * shard that did not answer is asked next time from where it was last
   * asked, so the caller moving its cursor on loses none of its revocations.
   */
  async revokedSince(since: number): Promise<{ id: string; revokedAt: number }[]> {
    const { values, failed } = await fromShardsUp(this.at.shards, (s, _name, i) => s.revokedSince(Math.min(since, this.owed.get(i) ?? since)));
    if (values.length === 0 && failed[0]) throw failed[0].error;
    const down = new Set(failed.map((f) => f.index));
    for (let i = 0; i < this.at.shards.length; i++) {
      if (down.has(i)) this.owed.set(i, Math.min(since, this.owed.get(i) ?? since));
      else this.owed.delete(i);
    }
    return values.flat();
  }
}

/** The id an applied event's rows are placed by: the user's for user events, the session's for the rest. */
function placedBy(e: ReplicationEvent): string {
  return e.deletion?.userId ?? e.sessionsEnded?.userId ?? e.user?.id ?? e.family?.id ?? e.revocation?.sessionId ?? '';
}

export class RoutedReplicaStore implements ReplicaStore {
  constructor(private readonly at: Placement<ReplicaStore>) {}

  apply(event: ReplicationEvent, doubleSpend: DoubleSpendRule, now: number): Promise<{ doubleSpend: boolean }> {
    return this.at.byId(placedBy(event), (s) => s.apply(event, doubleSpend, now));
  }
}

export class RoutedRotationSink implements RotationSink {
  constructor(private readonly at: Placement<RotationSink>) {}

  /**
   * Writes each shard's rotations; those of a shard that is down stay pending (flushed once it is back).
   * Those of a slot a shard guards (being moved, or moved while this map was stale) go, once the map
   * is read again, to the shard that holds the slot now; if it is still the same (frozen), they stay
   * pending without holding the shard's other rotations back.
   */
  apply(rotations: readonly PendingRotation[]): Promise<FlushResult> {
    return this.write(rotations, true);
  }

  /** `reroute`: the guarded slots' rotations are sent on once after the map is read again. */
  private async write(rotations: readonly PendingRotation[], reroute: boolean): Promise<FlushResult> {
    const byShard = new Map<RotationSink, PendingRotation[]>();
    for (const r of rotations) {
      const sink = this.at.ofSlot(slotOfId(r.sessionId));
      const list = byShard.get(sink);
      if (list) list.push(r);
      else byShard.set(sink, [r]);
    }
    const groups = [...byShard];
    const { values, failed } = await fromShardsUp(
      groups.map(([store, list]) => ({ name: '', store: { store, list } })),
      ({ store, list }) => store.apply(list),
    );
    const down = new Set(failed.map((f) => groups[f.index]?.[0]));
    const result: FlushResult = {
      moved: sum(values.map((v) => v.moved)),
      written: values.flatMap((v) => v.written),
      ...(failed[0] ? { failed: { error: failed[0].error, holds: (sessionId: string) => down.has(this.at.ofSlot(slotOfId(sessionId))) } } : {}),
    };
    const guarded = values.flatMap((v) => v.guarded ?? []);
    if (guarded.length === 0) return result;
    if (!reroute) return { ...result, guarded };
    const version = this.at.map.version;
    try {
      await this.at.map.refresh();
    } catch {
      // The main shard down: the map stays as it was, and these stay pending for a later flush.
      return { ...result, guarded };
    }
    // The same map: the slots are frozen where they are, and wait out the move.
    if (this.at.map.version === version) return { ...result, guarded };
    const rerouted = await this.write(guarded, false);
    const failures = [result.failed, rerouted.failed].filter((f) => f !== undefined);
    return {
      moved: result.moved + rerouted.moved,
      written: [...result.written, ...rerouted.written],
      ...(rerouted.guarded ? { guarded: rerouted.guarded } : {}),
      ...(failures[0] ? { failed: { error: failures[0].error, holds: (id: string) => failures.some((f) => f.holds(id)) } } : {}),
    };
  }
}
