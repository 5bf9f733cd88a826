import type { Clock } from '../util/runtime.js';
import type { Revocation, RevocationSet } from './revocations.js';

/** A revoked session as verifiers receive it. */
export interface FeedEntry {
  sid: string;
  /** Epoch milliseconds. */
  revoked_at: number;
}

export interface FeedPage {
  revocations: FeedEntry[];
  /** The `since` to ask with next time. */
  next_since: number;
}

const toEntry = (r: Revocation): FeedEntry => ({ sid: r.sessionId, revoked_at: r.revokedAt });

/**
 * The revocation feed verifiers follow so that a logged-out session's access
 * tokens are refused without a call per request. Cursors are times on the
 * serving process's clock, handed back with an overlap of the configured
 * clock skew: a cursor from one server stays safe at another whose clock
 * lags, at the cost of entries being sent twice (adding one is idempotent).
 */
export class RevocationFeed {
  constructor(
    private readonly set: RevocationSet,
    private readonly clock: Clock,
    private readonly overlapMs: number,
  ) {}

  /** Everything learned since `since` (all retained entries for 0). */
  page(since: number): FeedPage {
    // Cursor first: an entry added after it is read is sent again next time, never skipped.
    const next = this.cursor();
    return { revocations: this.set.since(since).map(toEntry), next_since: next };
  }

  /** The cursor that covers everything known now. */
  cursor(): number {
    return Math.max(0, this.clock.now() - this.overlapMs);
  }

  /** Sends the backlog since `since`, then every new entry; returns the function that stops it. */
  follow(since: number, send: (entry: FeedEntry) => void): () => void {
    for (const r of this.set.since(since)) send(toEntry(r));
    return this.set.subscribe((r) => send(toEntry(r)));
  }
}
