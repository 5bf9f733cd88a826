import type { BusHandlers, RevocationBus } from '../../auth/revocation-sync.js';
import type { RedisClient, RedisLink } from './connection.js';

/** How long start-up waits for the first subscription before going on without it. */
const FIRST_SUBSCRIBE_WAIT_MS = 1000;

/**
 * Revocations over Redis pub/sub: at-most-once and immediate. The
 * subscription is renewed by hand on every reconnect, and only once it is
 * confirmed is the feed told to reload from the database, so no revocation
 * can slip between the reload and the subscription.
 */
export class RedisRevocationChannel implements RevocationBus {
  private sub: RedisClient | undefined;
  private subscribed = false;

  constructor(
    private readonly link: RedisLink,
    private readonly channel: string,
  ) {}

  async publish(sessionId: string, revokedAt: number): Promise<void> {
    await this.link.run((r) => r.publish(this.channel, JSON.stringify({ sid: sessionId, at: revokedAt })));
  }

  get connected(): boolean {
    return this.subscribed && this.sub?.status === 'ready';
  }

  listen(handlers: BusHandlers): Promise<void> {
    const sub = this.link.subscriber();
    this.sub = sub;
    sub.on('message', (_channel: string, message: string) => {
      const m = parseMessage(message);
      if (m) handlers.revoked(m.sid, m.at);
    });
    sub.on('close', () => {
      this.subscribed = false;
    });
    let first = true;
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, FIRST_SUBSCRIBE_WAIT_MS);
      sub.on('ready', () => {
        sub.subscribe(this.channel).then(
          () => {
            this.subscribed = true;
            if (!first) handlers.resubscribed();
            first = false;
            clearTimeout(timer);
            resolve();
          },
          () => {
            // The connection dropped again; the next 'ready' retries.
          },
        );
      });
    });
  }

  async close(): Promise<void> {
    this.subscribed = false;
    this.sub?.disconnect();
  }
}

function parseMessage(message: string): { sid: string; at: number } | undefined {
  try {
    const m = JSON.parse(message) as { sid?: unknown; at?: unknown };
    return typeof m.sid === 'string' && typeof m.at === 'number' ? { sid: m.sid, at: m.at } : undefined;
  } catch {
    return undefined;
  }
}
