import { type DpopKeyStore, generateDpopKeyPair } from './dpop-keys.js';

/**
 * DPoP (RFC 9449) for every request the client sends to the servers it
 * trusts: a proof signed with the client's key, naming the method, the URL
 * and (with an access token) its hash; the server's latest nonce (§8) when it
 * handed one out, and one retry when it asks for a new one.
 */

const te = new TextEncoder();
const b64url = (bytes: ArrayBuffer | Uint8Array): string => {
  let s = '';
  for (const b of new Uint8Array(bytes)) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
};
const b64json = (v: unknown): string => b64url(te.encode(JSON.stringify(v)));

class ProofSigner {
  private readonly nonces = new Map<string, string>();

  constructor(
    private readonly pair: CryptoKeyPair,
    private readonly jwk: JsonWebKey,
    private readonly now: () => number,
  ) {}

  async proof(method: string, url: URL, accessToken?: string): Promise<string> {
    const header = { typ: 'dpop+jwt', alg: 'ES256', jwk: { kty: this.jwk.kty, crv: this.jwk.crv, x: this.jwk.x, y: this.jwk.y } };
    const claims: Record<string, unknown> = {
      jti: b64url(crypto.getRandomValues(new Uint8Array(16))),
      htm: method.toUpperCase(),
      htu: `${url.origin}${url.pathname}`,
      iat: Math.floor(this.now() / 1000),
    };
    const nonce = this.nonces.get(url.origin);
    if (nonce) claims.nonce = nonce;
    if (accessToken) claims.ath = b64url(await crypto.subtle.digest('SHA-256', te.encode(accessToken)));
    const input = `${b64json(header)}.${b64json(claims)}`;
    const signature = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, this.pair.privateKey, te.encode(input));
    return `${input}.${b64url(signature)}`;
  }

  /** Keeps the nonce a response hands out, for the next proof to that origin. */
  noteNonce(url: URL, res: Response): void {
    const nonce = res.headers.get('dpop-nonce');
    if (nonce) this.nonces.set(url.origin, nonce);
  }
}

/** Whether the server refused for want of a (fresh) nonce: a resource says so in its challenge, a token endpoint in the body. */
async function asksForNonce(res: Response): Promise<boolean> {
  if (!res.headers.get('dpop-nonce')) return false;
  if (res.status === 401) return /use_dpop_nonce/.test(res.headers.get('www-authenticate') ?? '');
  if (res.status !== 400) return false;
  const body = (await res
    .clone()
    .json()
    .catch(() => null)) as { error?: unknown } | null;
  return body?.error === 'use_dpop_nonce';
}

export interface DpopOptions {
  keys: DpopKeyStore;
  now: () => number;
  /** Origins that get proofs (the server and the resource servers the token goes to). */
  origins: ReadonlySet<string>;
}

/**
 * `fetch` that adds a proof to every request to `origins`, with `ath` when
 * the request carries `Authorization: DPoP <token>`. The key is loaded (or
 * made) on first use.
 */
export function dpopFetch(inner: typeof fetch, o: DpopOptions): typeof fetch {
  let signer: Promise<ProofSigner> | null = null;
  const load = async (): Promise<ProofSigner> => {
    const pair = await o.keys.loadOrAdd(await generateDpopKeyPair());
    return new ProofSigner(pair, await crypto.subtle.exportKey('jwk', pair.publicKey), o.now);
  };
  return async (input, init = {}) => {
    const url = new URL(input instanceof Request ? input.url : input);
    if (!o.origins.has(url.origin)) return inner(input, init);
    signer ??= load().catch((err: unknown) => {
      signer = null;
      throw err;
    });
    const s = await signer;
    const headers = new Headers(init.headers);
    const auth = /^DPoP (.+)$/.exec(headers.get('authorization') ?? '')?.[1];
    const send = async () => {
      headers.set('dpop', await s.proof(init.method ?? 'GET', url, auth));
      return inner(input, { ...init, headers });
    };
    const res = await send();
    s.noteNonce(url, res);
    if (!(await asksForNonce(res))) return res;
    await res.body?.cancel();
    const retried = await send();
    s.noteNonce(url, retried);
    return retried;
  };
}
