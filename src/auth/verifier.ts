import type { KeyObject } from 'node:crypto';
import type { SigningAlg } from '../config/schema.js';
import { AppError, isAppError } from '../errors.js';
import type { Clock } from '../util/runtime.js';
import { decodeCompact, isSigningAlg, verifySignature } from './jws.js';

/** The claims of a Meridian access token (RFC 9068 profile). */
export interface AccessClaims {
  iss: string;
  sub: string;
  aud: string | string[];
  exp: number;
  iat: number;
  jti: string;
  sid: string;
  region: string;
  username?: string;
  client_id?: string;
  [claim: string]: unknown;
}

export interface VerificationKey {
  alg: SigningAlg;
  key: KeyObject;
}

export interface VerifierOptions {
  issuer: string | readonly string[];
  audience: string;
  /** Algorithms accepted at all; each key is further pinned to its own. */
  algorithms: readonly SigningAlg[];
  /** Tokens older than this (by `iat`) are refused whatever their `exp`. */
  maxAgeSeconds: number;
  clockSkewSeconds: number;
  clock: Clock;
  keys: (kid: string) => VerificationKey | undefined;
  /** Consulted on every call, cached or not: a logged-out session is refused at once. */
  isRevoked?: (sid: string, iat: number) => boolean;
  /** Verified tokens kept by their exact string; 0 turns the cache off. */
  cacheSize?: number;
}

const TYP = /^(application\/)?at\+jwt$/i;

/**
 * Why a token was refused: the `reason` of its `invalid_token` AppError, one
 * of a closed set (as jose's error codes), so callers can switch on it.
 */
export const VERIFY_FAILURES = [
  'missing bearer token',
  'malformed',
  'algorithm not allowed',
  'wrong typ',
  'unsupported crit',
  'missing kid',
  'unknown kid',
  'algorithm does not match key',
  'bad signature',
  'wrong issuer',
  'wrong audience',
  'missing exp',
  'missing iat',
  'missing sub',
  'missing jti',
  'missing sid',
  'not yet valid',
  'expired',
  'issued in the future',
  'too old',
  'session revoked',
] as const;
export type VerifyFailure = (typeof VERIFY_FAILURES)[number];

/** The failure an error from `verify` stands for; undefined for any other error. */
export function verifyFailureOf(err: unknown): VerifyFailure | undefined {
  const reason = isAppError(err, 'invalid_token') ? err.reason : undefined;
  return (VERIFY_FAILURES as readonly (string | undefined)[]).includes(reason) ? (reason as VerifyFailure) : undefined;
}

export function fail(reason: VerifyFailure): never {
  throw new AppError('invalid_token', { reason });
}

const isText = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= 512;
const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * Strict access-token verification with no I/O: the algorithm is pinned to the
 * key named by `kid`, and `typ`, `iss`, `aud`, `exp`, `iat`, `sub`, `jti` and
 * `sid` are all required. Every failure is an `invalid_token` AppError whose
 * `reason` says which check failed (for logs only).
 */
export class AccessTokenVerifier {
  private readonly issuers: ReadonlySet<string>;
  private readonly cache = new Map<string, AccessClaims>();
  private readonly cacheSize: number;

  constructor(private readonly opts: VerifierOptions) {
    this.issuers = new Set(typeof opts.issuer === 'string' ? [opts.issuer] : opts.issuer);
    this.cacheSize = opts.cacheSize ?? 10_000;
  }

  verify(token: string): AccessClaims {
    const now = this.opts.clock.now() / 1000;
    const cached = this.cache.get(token);
    let claims: AccessClaims;
    try {
      claims = cached ?? this.verifyFresh(token, now);
    } catch (err) {
      // Whatever a crafted token makes a parser or crypto call throw is a bad token, not a 500.
      if (err instanceof AppError) throw err;
      fail('malformed');
    }
    // Time and revocation are rechecked on every use, cached or not.
    this.checkTimes(claims, now);
    if (this.opts.isRevoked?.(claims.sid, claims.iat)) fail('session revoked');
    if (!cached) this.remember(token, claims);
    return claims;
  }

  private verifyFresh(token: string, now: number): AccessClaims {
    if (typeof token !== 'string' || token.length > 8192) fail('malformed');
    const jws = decodeCompact(token);
    if (!jws) fail('malformed');
    const { header, payload } = jws;
    if (!isSigningAlg(header.alg) || !this.opts.algorithms.includes(header.alg)) fail('algorithm not allowed');
    if (typeof header.typ !== 'string' || !TYP.test(header.typ)) fail('wrong typ');
    if (header.crit !== undefined) fail('unsupported crit');
    if (!isText(header.kid)) fail('missing kid');
    const key = this.opts.keys(header.kid);
    if (!key) fail('unknown kid');
    if (key.alg !== header.alg) fail('algorithm does not match key');
    if (!verifySignature(jws, key.alg, key.key)) fail('bad signature');
    return this.checkClaims(payload, now);
  }

  private checkClaims(p: Record<string, unknown>, now: number): AccessClaims {
    if (!isText(p.iss) || !this.issuers.has(p.iss)) fail('wrong issuer');
    const aud = p.aud;
    const audOk = aud === this.opts.audience || (Array.isArray(aud) && aud.includes(this.opts.audience));
    if (!audOk) fail('wrong audience');
    if (!isTime(p.exp)) fail('missing exp');
    if (!isTime(p.iat)) fail('missing iat');
    if (!isText(p.sub)) fail('missing sub');
    if (!isText(p.jti)) fail('missing jti');
    if (!isText(p.sid)) fail('missing sid');
    if (p.nbf !== undefined && (!isTime(p.nbf) || p.nbf > now + this.opts.clockSkewSeconds)) fail('not yet valid');
    return p as AccessClaims;
  }

  private checkTimes(c: AccessClaims, now: number): void {
    const skew = this.opts.clockSkewSeconds;
    if (c.exp <= now - skew) fail('expired');
    if (c.iat > now + skew) fail('issued in the future');
    if (now - c.iat > this.opts.maxAgeSeconds + skew) fail('too old');
  }

  private remember(token: string, claims: AccessClaims): void {
    if (this.cacheSize <= 0) return;
    if (this.cache.size >= this.cacheSize) {
      // Evict the oldest insertion: Map iterates in insertion order.
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
    this.cache.set(token, claims);
  }
}
