import type { Clock } from '../util/runtime.js';

/** One revoked session as the revocation feed publishes it. */
export interface Revocation {
  sessionId: string;
  /** When the session was revoked (epoch ms, as recorded by whoever revoked it). */
  revokedAt: number;
  /** When this process learned of it (epoch ms, this process's clock); feed cursors count in this. */
  seenAt: number;
}

export type RevocationListener = (r: Revocation) => void;

/**
 * Sessions whose access tokens must be refused before they expire. Checked on
 * every verification, so it is an in-memory map: fed by logout and reuse
 * detection in this process, seeded from the database at start-up, and (with
 * a shared cache) by the region's revocation channel. An entry is needed only
 * as long as a token of that session can still be accepted, so entries drop
 * out after the longest token lifetime.
 *
 * It also keeps the entries in the order this process learned of them, so
 * the revocation feed can answer "what is new since t" with a binary search
 * and push each new entry to its listeners (streaming subscribers).
 */
export class RevocationSet {
  private readonly revoked = new Map<string, number>();
  /** Every live entry, ascending by `seenAt`. */
  private log: Revocation[] = [];
  private readonly listeners = new Set<RevocationListener>();
  private lastSweep = 0;

  constructor(
    private readonly clock: Clock,
    /** Longest time, in ms, that an access token stays acceptable after issue. */
    private readonly retentionMs: number,
  ) {}

  add(sessionId: string, revokedAt = this.clock.now()): void {
    const known = this.revoked.has(sessionId);
    this.revoked.set(sessionId, revokedAt);
    if (!known) {
      // A wall clock that stepped back must not break the log's order.
      const seenAt = Math.max(this.clock.now(), this.log.at(-1)?.seenAt ?? 0);
      const entry = { sessionId, revokedAt, seenAt };
      this.log.push(entry);
      for (const listener of this.listeners) listener(entry);
    }
    this.sweep();
  }

  has(sessionId: string): boolean {
    return this.revoked.has(sessionId);
  }

  get size(): number {
    return this.revoked.size;
  }

  /** Entries this process learned of at or after `seenAt` (ms), oldest first. */
  since(seenAt: number): Revocation[] {
    let lo = 0;
    let hi = this.log.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.log[mid] as Revocation).seenAt < seenAt) lo = mid + 1;
      else hi = mid;
    }
    return this.log.slice(lo).filter((r) => this.revoked.has(r.sessionId));
  }

  /** Calls `listener` with every entry added from now on; returns the unsubscribe function. */
  subscribe(listener: RevocationListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private sweep(): void {
    const now = this.clock.now();
    if (now - this.lastSweep < 60_000) return;
    this.lastSweep = now;
    for (const [sid, at] of this.revoked) if (now - at > this.retentionMs) this.revoked.delete(sid);
    this.log = this.log.filter((r) => this.revoked.has(r.sessionId));
  }
}
