/** The tokens of one session, as the client keeps them. */
export interface TokenSet {
  accessToken: string;
  refreshToken: string;
  /** When the access token expires, on this client's clock (epoch ms). */
  expiresAt: number;
  /** When the refresh token expires, on this client's clock (epoch ms). */
  refreshExpiresAt: number;
  /** `DPoP` for a session bound to the client's key: the access token is sent as `Authorization: DPoP`. Absent means Bearer. */
  tokenType?: 'Bearer' | 'DPoP';
}

/**
 * Where the client keeps its tokens. Clients (browser tabs) that share a
 * store share a session, and refresh it one at a time under a Web Lock.
 */
export interface TokenStore {
  load(): TokenSet | null | Promise<TokenSet | null>;
  save(tokens: TokenSet | null): void | Promise<void>;
}

/** Tokens in this client's memory only (the default): nothing survives a reload, nothing is readable elsewhere. */
export function memoryStore(): TokenStore {
  let tokens: TokenSet | null = null;
  return {
    load: () => tokens,
    save: (next) => {
      tokens = next;
    },
  };
}

/** The subset of the Web Storage API the store needs (localStorage, sessionStorage). */
export interface WebStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

const isTokenSet = (v: unknown): v is TokenSet => {
  const t = v as TokenSet;
  return typeof v === 'object' && v !== null && typeof t.accessToken === 'string' && typeof t.refreshToken === 'string' && typeof t.expiresAt === 'number';
};

/**
 * Tokens in Web Storage, shared by every tab of the origin (localStorage).
 * Anything script on the page can read them: use it only where that is
 * acceptable, and a strict Content-Security-Policy.
 */
export function webStorageStore(storage: WebStorage, key = 'meridian.session'): TokenStore {
  return {
    load() {
      const raw = storage.getItem(key);
      if (raw === null) return null;
      try {
        const parsed: unknown = JSON.parse(raw);
        return isTokenSet(parsed) ? parsed : null;
      } catch {
        return null;
      }
    },
    save(tokens) {
      if (tokens) storage.setItem(key, JSON.stringify(tokens));
      else storage.removeItem(key);
    },
  };
}
