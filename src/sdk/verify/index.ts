/**
 * `meridian/verify`: verifies Meridian access tokens in any Node service, with
 * the server's own strict rules (src/auth/verifier.ts), keys from the
 * issuer's JWKS, and the issuer's revocation feed, so that a logged-out
 * session is refused within a stated bound and no request calls the issuer.
 */
import type { SigningAlg } from '../../config/schema.js';
import { parseAuthorization } from '../../auth/bearer.js';
import { DpopVerifier } from '../../auth/dpop.js';
import { checkSenderConstraint } from '../../auth/dpop-access.js';
import { MemoryReplayStore } from '../../auth/dpop-replay.js';
import { type AccessClaims, AccessTokenVerifier, fail } from '../../auth/verifier.js';
import { unavailable } from '../../errors.js';
import { type Clock, systemClock } from '../../util/runtime.js';
import { RemoteKeySet } from './jwks.js';
import type { ResourceRequest } from './middleware.js';
import { type FeedMode, RevocationFollower } from './revocation-follower.js';

export type { AccessClaims, VerifyFailure } from '../../auth/verifier.js';
export { verifyFailureOf } from '../../auth/verifier.js';
export { AppError, isAppError } from '../../errors.js';
export { expressAuth, fastifyAuth, type AuthenticatedRequest, type ResourceRequest } from './middleware.js';

export interface VerifierConfig {
  /** The issuer URL, exactly as in the tokens' `iss` (MERIDIAN_ISSUER). */
  issuer: string;
  /** The audience this service accepts (MERIDIAN_AUDIENCE). */
  audience: string;
  /** Defaults to `<issuer>/.well-known/jwks.json`. */
  jwksUri?: string;
  /** Defaults to `<issuer>/v1/revocations`; `null` turns revocation checks off (and with them the bound). */
  revocationsUri?: string | null;
  /** `stream` (default): server-sent events, pushed at once. `poll`: ask every `pollIntervalSeconds`. */
  revocationMode?: FeedMode;
  pollIntervalSeconds?: number;
  /**
   * The propagation bound: when the feed has not been heard from for this
   * long, every token is refused (503 from the middleware) rather than risk
   * accepting a revoked one. Default 30. `Infinity` fails open instead.
   */
  maxStalenessSeconds?: number;
  /** Tokens older than this (by `iat`) are refused; set it to MERIDIAN_ACCESS_TOKEN_TTL. Default 86400, the largest TTL the server allows. */
  maxTokenAgeSeconds?: number;
  clockSkewSeconds?: number;
  algorithms?: readonly SigningAlg[];
  /** Verified tokens kept (revocation and expiry are still checked on every use). Default 10000. */
  cacheSize?: number;
  /** Least seconds between JWKS fetches caused by unknown key ids. Default 30. */
  jwksCooldownSeconds?: number;
  fetch?: typeof fetch;
  clock?: Clock;
  /** Background failures (feed, key refresh); they also show as staleness. Default: ignored. */
  onError?: (err: unknown) => void;
  /**
   * The origins clients call this service at (e.g. `https://api.example.com`): a DPoP proof's `htu`
   * must name one. Without them DPoP-bound tokens are refused (the Host header is the client's to pick).
   */
  resourceOrigins?: readonly string[];
  /** A DPoP proof is taken while its `iat` is at most this far from now; its `jti` is kept, in this process, twice as long. Default 60. */
  dpopWindowSeconds?: number;
}

export interface Verifier {
  /** Resolves once keys and the first page of revocations are loaded; `verify` waits for it itself. */
  ready(): Promise<void>;
  /** The token's claims, or an AppError: `invalid_token` (401) or `temporarily_unavailable` (503). */
  verify(token: string): Promise<AccessClaims>;
  /**
   * A request's access token (`Bearer`, or `DPoP` with its proof and `ath`
   * for a token bound by `cnf.jkt`, RFC 9449 §7); the middleware's check.
   */
  verifyRequest(request: ResourceRequest): Promise<AccessClaims>;
  /** Stops following the feed. */
  close(): void;
}

const trimSlash = (url: string): string => url.replace(/\/+$/, '');

/** Creates a verifier for one issuer and audience. Nothing is fetched until `ready` or the first `verify`. */
export function createVerifier(config: VerifierConfig): Verifier {
  const clock = config.clock ?? systemClock;
  const fetchImpl = config.fetch ?? globalThis.fetch;
  const skew = config.clockSkewSeconds ?? 30;
  const maxAge = config.maxTokenAgeSeconds ?? 86_400;
  const maxStalenessMs = (config.maxStalenessSeconds ?? 30) * 1000;
  const base = trimSlash(config.issuer);

  const keys = new RemoteKeySet({
    url: config.jwksUri ?? `${base}/.well-known/jwks.json`,
    fetch: fetchImpl,
    clock,
    cooldownMs: (config.jwksCooldownSeconds ?? 30) * 1000,
    maxAgeMs: 300_000,
    onError: config.onError,
  });
  const feedUrl = config.revocationsUri === undefined ? `${base}/v1/revocations` : config.revocationsUri;
  const feed = feedUrl
    ? new RevocationFollower({
        url: trimSlash(feedUrl),
        fetch: fetchImpl,
        clock,
        mode: config.revocationMode ?? 'stream',
        pollIntervalMs: (config.pollIntervalSeconds ?? 5) * 1000,
        retentionMs: (maxAge + 2 * skew) * 1000,
        onError: config.onError ?? (() => {}),
      })
    : null;
  const inner = new AccessTokenVerifier({
    issuer: config.issuer,
    audience: config.audience,
    algorithms: config.algorithms ?? ['ES256', 'EdDSA', 'RS256'],
    maxAgeSeconds: maxAge,
    clockSkewSeconds: skew,
    clock,
    keys: (kid) => keys.get(kid),
    isRevoked: (sid) => feed?.has(sid) ?? false,
    cacheSize: config.cacheSize,
  });

  let starting: Promise<void> | null = null;
  const ready = (): Promise<void> => {
    starting ??= Promise.all([keys.load(), feed?.start().catch((cause: unknown) => Promise.reject(unavailable('revocation feed', cause)))]).then(
      () => undefined,
      (err: unknown) => {
        starting = null; // the next call tries again
        throw err;
      },
    );
    return starting;
  };

  const dpop = new DpopVerifier({ clock, replay: new MemoryReplayStore(clock), windowSeconds: config.dpopWindowSeconds ?? 60 });
  const origins = (config.resourceOrigins ?? []).map(trimSlash);

  const verify = async (token: string): Promise<AccessClaims> => {
    await ready();
    if (feed && clock.now() - feed.heardAt > maxStalenessMs) throw unavailable('revocation feed', new Error('feed is stale'));
    const kid = kidOf(token);
    if (kid) await keys.require(kid);
    return inner.verify(token);
  };

  return {
    ready,
    verify,
    async verifyRequest(request) {
      const presented = parseAuthorization(request.authorization);
      if (!presented) fail('missing bearer token');
      const claims = await verify(presented.token);
      const target = () => {
        const path = request.url.split('?', 1)[0] ?? '/';
        return { method: request.method, urls: origins.map((o) => `${o}${path}`) };
      };
      await checkSenderConstraint(claims, presented, request.dpop, target, dpop, { required: false });
      return claims;
    },
    close() {
      feed?.close();
    },
  };
}

/** The `kid` a token names, from its header alone (the payload is parsed once, by the verifier). */
function kidOf(token: string): string | undefined {
  if (typeof token !== 'string' || token.length > 8192) fail('malformed');
  try {
    const kid: unknown = JSON.parse(Buffer.from(token.slice(0, token.indexOf('.')), 'base64url').toString('utf8'))?.kid;
    return typeof kid === 'string' && kid.length <= 512 ? kid : undefined;
  } catch {
    return undefined; // the verifier gives the precise refusal
  }
}
