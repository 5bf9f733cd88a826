import type { Clock } from '../../util/runtime.js';
import { getJson } from './http.js';
import { readEvents, type StreamState } from './sse.js';

export type FeedMode = 'stream' | 'poll';

export interface FollowerOptions {
  /** The feed, e.g. `https://auth.example.com/v1/revocations`; the stream is at `<url>/stream`. */
  url: string;
  fetch: typeof fetch;
  clock: Clock;
  mode: FeedMode;
  pollIntervalMs: number;
  /** Entries are dropped this long after their revocation: no token of theirs can still be accepted. */
  retentionMs: number;
  onError: (err: unknown) => void;
}

// The server sends a heartbeat every 5 s; three missed in a row mean the stream is dead.
const STREAM_SILENCE_MS = 15_000;
const MAX_BACKOFF_MS = 5_000;
// The wait before reconnecting, unless the server says otherwise with `retry:`.
const DEFAULT_RETRY_MS = 250;
// Nothing polls while the follower waits to reconnect: a server's `retry:` is kept well under the default staleness bound (30 s).
const MIN_RETRY_MS = 100;
const MAX_RETRY_MS = 10_000;

class StreamUnsupported extends Error {}

interface Entry {
  sid: string;
  revoked_at: number;
}

const isEntry = (v: unknown): v is Entry =>
  typeof v === 'object' && v !== null && typeof (v as Entry).sid === 'string' && typeof (v as Entry).revoked_at === 'number';

/**
 * Follows the issuer's revocation feed and keeps the revoked session ids in
 * memory, so verification asks no one per request. It records when it last
 * heard from the feed (`heardAt`): everything the server knew by then has
 * been received, which is what lets the verifier bound how stale it may be.
 *
 * In stream mode it holds one server-sent-events connection (pushed within
 * network latency), reconnecting with its cursor when it drops or goes silent
 * and polling once in between; in poll mode it asks every `pollIntervalMs`.
 */
export class RevocationFollower {
  private readonly revoked = new Map<string, number>();
  private cursor = 0;
  private lastSweep = 0;
  private closed = false;
  private running = false;
  private abort: AbortController | null = null;
  private wake: (() => void) | null = null;
  private mode: FeedMode;
  /** The stream's last event id and `retry:`, kept across reconnections. */
  private readonly feed: StreamState = {};
  /** Local time of the last word from the feed. */
  heardAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly opts: FollowerOptions) {
    this.mode = opts.mode;
  }

  has(sid: string): boolean {
    return this.revoked.has(sid);
  }

  /** First sync, then follows in the background until `close()`. */
  async start(): Promise<void> {
    await this.poll();
    if (this.running) return;
    this.running = true;
    void this.run();
  }

  close(): void {
    this.closed = true;
    this.abort?.abort();
    this.wake?.();
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.closed) {
      if (this.mode === 'stream') {
        try {
          await this.stream();
          failures = 0;
        } catch (err) {
          if (this.closed) return;
          if (err instanceof StreamUnsupported) this.mode = 'poll';
          else this.opts.onError(err);
          failures++;
        }
        await this.sleep(this.reconnectDelay(failures));
      } else {
        await this.sleep(this.opts.pollIntervalMs);
      }
      if (this.closed) return;
      // In stream mode this keeps the verifier fresh while the stream is being re-established.
      await this.poll().catch((err: unknown) => this.opts.onError(err));
    }
  }

  /** The server's `retry:` (bounded), doubled for each failure in a row up to MAX_BACKOFF_MS (or the `retry:` if longer). */
  private reconnectDelay(failures: number): number {
    const base = Math.min(MAX_RETRY_MS, Math.max(MIN_RETRY_MS, this.feed.retryMs ?? DEFAULT_RETRY_MS));
    return Math.min(Math.max(MAX_BACKOFF_MS, base), base * 2 ** failures);
  }

  private async poll(): Promise<void> {
    const page = (await getJson(this.opts.fetch, `${this.opts.url}?since=${this.cursor}`)) as { revocations?: unknown; next_since?: unknown };
    if (!Array.isArray(page.revocations) || typeof page.next_since !== 'number') throw new Error('malformed revocation feed page');
    for (const e of page.revocations) if (isEntry(e)) this.add(e);
    this.cursor = page.next_since;
    this.heard();
  }

  private async stream(): Promise<void> {
    const abort = new AbortController();
    this.abort = abort;
    const silence = () => setTimeout(() => abort.abort(), STREAM_SILENCE_MS).unref?.();
    let watchdog = silence();
    try {
      // The cursor covers what polls brought in too; Last-Event-ID is for a server (or proxy) that goes by it, as an EventSource would send.
      const headers: Record<string, string> = { accept: 'text/event-stream' };
      if (this.feed.lastEventId !== undefined) headers['last-event-id'] = this.feed.lastEventId;
      const res = await this.opts.fetch(`${this.opts.url}/stream?since=${this.cursor}`, { headers, signal: abort.signal });
      if (res.status === 404 || res.status === 405) throw new StreamUnsupported(`revocation stream: HTTP ${res.status}`);
      if (!res.ok || !res.body) throw new Error(`revocation stream: HTTP ${res.status}`);
      for await (const message of readEvents(res.body, this.feed)) {
        clearTimeout(watchdog);
        watchdog = silence();
        const data: unknown = JSON.parse(message.data);
        if (message.event === 'revoked' && isEntry(data)) this.add(data);
        if (message.event === 'heartbeat') {
          const next = (data as { next_since?: unknown }).next_since;
          if (typeof next === 'number') this.cursor = next;
        }
        this.heard();
      }
    } finally {
      clearTimeout(watchdog);
      // Cancelling a body alone lets fetch keep draining an endless stream; aborting closes the connection.
      abort.abort();
      this.abort = null;
    }
  }

  private add(e: Entry): void {
    this.revoked.set(e.sid, e.revoked_at);
  }

  private heard(): void {
    const now = this.opts.clock.now();
    this.heardAt = now;
    if (now - this.lastSweep < 60_000) return;
    this.lastSweep = now;
    for (const [sid, at] of this.revoked) if (now - at > this.opts.retentionMs) this.revoked.delete(sid);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      timer.unref?.();
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }
}
