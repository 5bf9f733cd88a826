import type { Clock } from '../util/runtime.js';

/**
 * Sessions whose access tokens must be refused before they expire. Checked on
 * every verification, so it is an in-memory map: fed by logout and reuse
 * detection in this process, seeded from the database at start-up, and (with
 * a shared cache) by the region's revocation channel. An entry is needed only
 * as long as a token of that session can still be accepted, so entries drop
 * out after the longest token lifetime.
 */
export class RevocationSet {
  private readonly revoked = new Map<string, number>();
  private lastSweep = 0;

  constructor(
    private readonly clock: Clock,
    /** Longest time, in ms, that an access token stays acceptable after issue. */
    private readonly retentionMs: number,
  ) {}

  add(sessionId: string, revokedAt = this.clock.now()): void {
    this.revoked.set(sessionId, revokedAt);
    this.sweep();
  }

  has(sessionId: string): boolean {
    return this.revoked.has(sessionId);
  }

  get size(): number {
    return this.revoked.size;
  }

  private sweep(): void {
    const now = this.clock.now();
    if (now - this.lastSweep < 60_000) return;
    this.lastSweep = now;
    for (const [sid, at] of this.revoked) if (now - at > this.retentionMs) this.revoked.delete(sid);
  }
}
