import { errorFrom, MeridianError, SessionEndedError } from './errors.js';
import type { TokenSet, TokenStore } from './store.js';

/** The part of the Web Locks API (`navigator.locks`) the client uses. */
export interface LockManagerLike {
  request<T>(name: string, callback: () => Promise<T>): Promise<T>;
}

export interface RefresherOptions {
  /** `<base>/v1/auth/refresh`. */
  endpoint: string;
  fetch: typeof fetch;
  now: () => number;
  store: TokenStore;
  /** MERIDIAN_REFRESH_GRACE_SECONDS of the server, in ms: how long a lost response may be retried. */
  graceMs: number;
  locks: LockManagerLike | null;
  lockName: string;
  onTokens: (tokens: TokenSet) => void;
  onRevoked: () => void;
}

const ATTEMPT_TIMEOUT_MS = 5_000;
const MAX_ATTEMPTS = 6;
// Retries stop this long before the grace window closes: a retry the server sees after it is reuse, and ends the session.
const GRACE_MARGIN_MS = 1_000;

/** Reads a token response (RFC 6749 §5.1) into a TokenSet timed on this client's clock. */
export function toTokenSet(body: unknown, now: number): TokenSet {
  const b = body as Record<string, unknown> | null;
  if (typeof b?.access_token !== 'string' || typeof b.refresh_token !== 'string' || typeof b.expires_in !== 'number') {
    throw new MeridianError('invalid_response', 200, 'malformed token response');
  }
  const refreshIn = typeof b.refresh_expires_in === 'number' ? b.refresh_expires_in : Number.POSITIVE_INFINITY;
  return {
    accessToken: b.access_token,
    refreshToken: b.refresh_token,
    expiresAt: now + b.expires_in * 1000,
    refreshExpiresAt: now + refreshIn * 1000,
    // RFC 6749 §5.1: the type is case-insensitive.
    tokenType: typeof b.token_type === 'string' && b.token_type.toLowerCase() === 'dpop' ? 'DPoP' : 'Bearer',
  };
}

/**
 * Refreshes one session, at most once at a time: in this client, callers
 * that arrive while a refresh runs share it; across tabs, a Web Lock
 * serializes them, and a tab that got the lock after another refreshed takes
 * the stored result instead of spending the (single-use) refresh token again.
 */
export class Refresher {
  private inflight: Promise<TokenSet> | null = null;

  constructor(private readonly o: RefresherOptions) {}

  /** New tokens for a session whose tokens `stale` are no longer good enough. */
  refresh(stale: TokenSet): Promise<TokenSet> {
    this.inflight ??= this.underLock(stale).finally(() => {
      this.inflight = null;
    });
    return this.inflight;
  }

  private underLock(stale: TokenSet): Promise<TokenSet> {
    const run = async (): Promise<TokenSet> => {
      const latest = await this.o.store.load();
      if (!latest) throw new SessionEndedError('not_logged_in');
      if (latest.refreshToken !== stale.refreshToken && latest.expiresAt > this.o.now()) return latest;
      return this.redeem(latest);
    };
    return this.o.locks ? this.o.locks.request(this.o.lockName, run) : run();
  }

  /**
   * Spends the refresh token. A lost response (network error, timeout, 5xx)
   * is retried with the same token while the server's grace window lasts:
   * the server answers a retry with the same successor, so nothing is lost
   * and no reuse is flagged.
   */
  private async redeem(tokens: TokenSet): Promise<TokenSet> {
    const deadline = this.o.now() + this.o.graceMs - GRACE_MARGIN_MS;
    let lastError: unknown;
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      if (attempt > 1) {
        await backoff(attempt);
        if (this.o.now() >= deadline) break;
      }
      let res: Response;
      try {
        res = await this.o.fetch(this.o.endpoint, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json' },
          body: JSON.stringify({ refresh_token: tokens.refreshToken }),
          signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS),
        });
      } catch (err) {
        lastError = err;
        continue;
      }
      if (res.ok) {
        const next = toTokenSet(await res.json(), this.o.now());
        await this.o.store.save(next);
        this.o.onTokens(next);
        return next;
      }
      const err = await errorFrom(res);
      if (err.code === 'invalid_grant') {
        await this.o.store.save(null);
        this.o.onRevoked();
        throw new SessionEndedError('session_revoked');
      }
      lastError = err;
      if (res.status < 500 && res.status !== 429) throw err;
    }
    throw lastError;
  }
}

const backoff = (attempt: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.min(2_000, 100 * 2 ** attempt)));
