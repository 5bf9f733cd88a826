/**
 * `meridian/client`: log in, call APIs with a fresh access token, log out.
 * Runs in browsers and in Node (web-platform APIs only: fetch, Web Locks).
 */
import { dpopFetch } from './dpop.js';
import { type DpopKeyStore, defaultKeyStore } from './dpop-keys.js';
import { errorFrom, SessionEndedError } from './errors.js';
import { type LockManagerLike, Refresher, toTokenSet } from './refresh.js';
import { memoryStore, type TokenSet, type TokenStore } from './store.js';

export { type DpopKeyStore, indexedDbKeyStore, memoryKeyStore } from './dpop-keys.js';
export { MeridianError, SessionEndedError } from './errors.js';
export type { LockManagerLike } from './refresh.js';
export { memoryStore, webStorageStore, type TokenSet, type TokenStore, type WebStorage } from './store.js';

export interface ClientOptions {
  /** The Meridian server, e.g. `https://auth.example.com`. */
  baseUrl: string;
  /** Other origins whose APIs `fetch` may send the access token to (the server's own is always allowed). */
  resourceOrigins?: readonly string[];
  /** Default: memory. Tabs that share a store (`webStorageStore(localStorage)`) share the session. */
  store?: TokenStore;
  /** Refresh this long before the access token expires. Default 30. */
  refreshLeewaySeconds?: number;
  /** The server's MERIDIAN_REFRESH_GRACE_SECONDS. Default 10. */
  graceSeconds?: number;
  /** Default `navigator.locks` where the platform has it; `null` for none. */
  locks?: LockManagerLike | null;
  lockName?: string;
  fetch?: typeof fetch;
  now?: () => number;
  /**
   * DPoP (RFC 9449): every request to the server and to `resourceOrigins` carries a proof signed
   * with a non-extractable key, so the session is bound to it. Default: the key is kept in
   * IndexedDB where there is one (browsers), else in memory. `false` turns DPoP off.
   */
  dpop?: { keys?: DpopKeyStore } | false;
}

export interface ClientEvents {
  /** New tokens were stored (login or refresh). */
  tokens: TokenSet;
  /** The server ended the session (logout elsewhere, revocation, reuse, expiry); log in again. */
  revoked: undefined;
  /** This client logged out. */
  logout: undefined;
}

type Listener<K extends keyof ClientEvents> = (detail: ClientEvents[K]) => void;

export interface MeridianClient {
  login(username: string, password: string): Promise<void>;
  /** Ends this session on the server (or, with `allSessions`, every session of the user) and forgets the tokens. */
  logout(opts?: { allSessions?: boolean }): Promise<void>;
  /** `fetch` with `Authorization: Bearer` (or `DPoP` and a proof, for a bound session), refreshing first when the token is about to expire, and once more on a 401. */
  fetch(input: string | URL, init?: RequestInit): Promise<Response>;
  /** A currently valid access token. Throws SessionEndedError when there is no session. */
  accessToken(): Promise<string>;
  on<K extends keyof ClientEvents>(event: K, listener: Listener<K>): () => void;
}

function platformLocks(): LockManagerLike | null {
  const nav = (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator;
  return nav?.locks ?? null;
}

/** Creates a client for one Meridian server and one session at a time. */
export function createClient(options: ClientOptions): MeridianClient {
  const base = new URL(options.baseUrl);
  const root = base.href.replace(/\/+$/, '');
  const origins = new Set([base.origin, ...(options.resourceOrigins ?? []).map((o) => new URL(o).origin)]);
  const store = options.store ?? memoryStore();
  const now = options.now ?? Date.now;
  // Called as a plain function: a browser's fetch throws when called on another object.
  const plainFetch: typeof fetch = (input, init) => (options.fetch ?? globalThis.fetch)(input, init);
  const fetchImpl = options.dpop === false ? plainFetch : dpopFetch(plainFetch, { keys: options.dpop?.keys ?? defaultKeyStore(), now, origins });
  const leewayMs = (options.refreshLeewaySeconds ?? 30) * 1000;
  const listeners = new Map<keyof ClientEvents, Set<(detail: unknown) => void>>();
  const emit = <K extends keyof ClientEvents>(event: K, detail: ClientEvents[K]): void => {
    for (const l of listeners.get(event) ?? []) l(detail);
  };
  const refresher = new Refresher({
    endpoint: `${root}/v1/auth/refresh`,
    fetch: fetchImpl,
    now,
    store,
    graceMs: (options.graceSeconds ?? 10) * 1000,
    locks: options.locks === undefined ? platformLocks() : options.locks,
    lockName: options.lockName ?? `meridian-refresh ${root}`,
    onTokens: (t) => emit('tokens', t),
    onRevoked: () => emit('revoked', undefined),
  });

  async function current(): Promise<TokenSet> {
    const tokens = await store.load();
    if (!tokens) throw new SessionEndedError('not_logged_in');
    return tokens.expiresAt - leewayMs > now() ? tokens : refresher.refresh(tokens);
  }

  const post = (path: string, body: string, headers: Record<string, string>) =>
    fetchImpl(`${root}${path}`, { method: 'POST', headers: { accept: 'application/json', ...headers }, body });

  return {
    async login(username, password) {
      const res = await post('/v1/auth/login', JSON.stringify({ username, password }), { 'content-type': 'application/json' });
      if (!res.ok) throw await errorFrom(res);
      const tokens = toTokenSet(await res.json(), now());
      await store.save(tokens);
      emit('tokens', tokens);
    },

    async logout(opts = {}) {
      const tokens = await store.load();
      if (!tokens) return;
      try {
        if (opts.allSessions) {
          const { accessToken, tokenType } = await current();
          const res = await post('/v1/auth/logout', '{"all_sessions":true}', {
            'content-type': 'application/json',
            authorization: `${tokenType ?? 'Bearer'} ${accessToken}`,
          });
          if (!res.ok) throw await errorFrom(res);
        } else {
          // Revoking the refresh token ends the session even when the access token has expired.
          const res = await post('/oauth/revoke', new URLSearchParams({ token: tokens.refreshToken, token_type_hint: 'refresh_token' }).toString(), {
            'content-type': 'application/x-www-form-urlencoded',
          });
          if (!res.ok) throw await errorFrom(res);
        }
      } catch (err) {
        if (!(err instanceof SessionEndedError)) throw err;
      } finally {
        await store.save(null);
        emit('logout', undefined);
      }
    },

    async fetch(input, init = {}) {
      const url = new URL(input, `${root}/`);
      if (!origins.has(url.origin)) throw new TypeError(`the access token is not sent to ${url.origin}; list it in resourceOrigins`);
      const send = (tokens: TokenSet) => {
        const headers = new Headers(init.headers);
        headers.set('authorization', `${tokens.tokenType ?? 'Bearer'} ${tokens.accessToken}`);
        return fetchImpl(url, { ...init, headers });
      };
      const tokens = await current();
      const res = await send(tokens);
      // Refused although unexpired here (revoked, or a skewed clock): one refresh tells which.
      if (res.status !== 401 || !/invalid_token/.test(res.headers.get('www-authenticate') ?? '')) return res;
      await res.body?.cancel();
      return send(await refresher.refresh(tokens));
    },

    async accessToken() {
      return (await current()).accessToken;
    },

    on(event, listener) {
      const set = listeners.get(event) ?? new Set();
      listeners.set(event, set);
      const l = listener as (detail: unknown) => void;
      set.add(l);
      return () => set.delete(l);
    },
  };
}
