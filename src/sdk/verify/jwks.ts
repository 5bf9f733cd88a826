import { isSigningAlg, publicKeyFromJwk } from '../../auth/jws.js';
import type { VerificationKey } from '../../auth/verifier.js';
import { unavailable } from '../../errors.js';
import type { Clock } from '../../util/runtime.js';
import { getJson } from './http.js';

export interface RemoteKeySetOptions {
  url: string;
  fetch: typeof fetch;
  clock: Clock;
  /** Least time between two fetches caused by unknown `kid`s: a flood of forged kids costs one fetch per period. */
  cooldownMs: number;
  /** Keys are refetched in the background this long after the last fetch (keys can be withdrawn). */
  maxAgeMs: number;
  /** Told of a background refetch that failed (the keys in hand stay in use until they are stale). */
  onError?: (err: unknown) => void;
}

/**
 * The issuer's JWKS, fetched once, kept in memory and refetched when a token
 * names a key it does not hold (a rotation), at most once per cooldown.
 * Concurrent callers share one fetch. Each key is pinned to the algorithm the
 * JWKS lists it for, as on the server.
 */
export class RemoteKeySet {
  private keys = new Map<string, VerificationKey>();
  private fetchedAt = Number.NEGATIVE_INFINITY;
  private succeeded = false;
  private inflight: Promise<void> | null = null;

  constructor(private readonly opts: RemoteKeySetOptions) {}

  get(kid: string): VerificationKey | undefined {
    return this.keys.get(kid);
  }

  /** True once a fetch has succeeded. */
  get loaded(): boolean {
    return this.succeeded;
  }

  /** Makes sure `kid` is known if the issuer publishes it, within the rate limit. */
  async require(kid: string): Promise<void> {
    const age = this.opts.clock.now() - this.fetchedAt;
    if (!this.keys.has(kid) && age >= this.opts.cooldownMs) await this.load();
    else if (age >= this.opts.maxAgeMs) void this.load().catch((err: unknown) => this.opts.onError?.(err));
  }

  /** Fetches now, or joins the fetch in flight. */
  load(): Promise<void> {
    this.inflight ??= this.fetchKeys().finally(() => {
      this.inflight = null;
    });
    return this.inflight;
  }

  private async fetchKeys(): Promise<void> {
    let body: unknown;
    try {
      body = await getJson(this.opts.fetch, this.opts.url);
    } catch (cause) {
      throw unavailable('jwks', cause);
    } finally {
      // A failed fetch counts too: an unreachable issuer is not hammered once per request.
      this.fetchedAt = this.opts.clock.now();
    }
    const next = new Map<string, VerificationKey>();
    const list = (body as { keys?: unknown }).keys;
    for (const jwk of Array.isArray(list) ? list : []) {
      if (jwk === null || typeof jwk !== 'object' || typeof jwk.kid !== 'string' || !isSigningAlg(jwk.alg)) continue;
      try {
        next.set(jwk.kid, { alg: jwk.alg, key: publicKeyFromJwk(jwk, jwk.alg) });
      } catch {
        // A key this verifier cannot use verifies nothing; skip it rather than fail the set.
      }
    }
    this.keys = next;
    this.succeeded = true;
  }
}
