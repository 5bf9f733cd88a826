import { createHash, createPublicKey, type KeyObject, verify } from 'node:crypto';
import { AppError } from '../errors.js';
import type { Clock } from '../util/runtime.js';
import type { DpopNonces } from './dpop-nonce.js';
import type { ReplayStore } from './dpop-replay.js';
import { accessTokenHash, jwkThumbprint } from './jwk-thumbprint.js';

/**
 * DPoP proof checks (RFC 9449 §4.3), in the order the RFC lists them, on
 * node:crypto. Every failure is an `invalid_dpop_proof` AppError whose
 * `reason` says which check failed (for logs), or `use_dpop_nonce` with the
 * nonce to use. The `jti` is recorded last, so a proof that fails any other
 * check cannot fill the replay store.
 */

/** Proof algorithms taken: asymmetric only (`none` and MACs never); Ed25519 is EdDSA's fully specified name. */
export const DPOP_ALGS = ['ES256', 'EdDSA', 'Ed25519'] as const;
type DpopAlg = (typeof DPOP_ALGS)[number];

const KEY_OF_ALG: Record<DpopAlg, { kty: string; crv: string; members: readonly string[] }> = {
  ES256: { kty: 'EC', crv: 'P-256', members: ['kty', 'crv', 'x', 'y'] },
  EdDSA: { kty: 'OKP', crv: 'Ed25519', members: ['kty', 'crv', 'x'] },
  Ed25519: { kty: 'OKP', crv: 'Ed25519', members: ['kty', 'crv', 'x'] },
};

/** Members only a private (or symmetric) JWK has: a proof carrying one is refused (§4.3 point 7). */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

const MAX_PROOF_LENGTH = 4096;

// A client signs every proof with one key: importing it costs more than checking the signature, so
// keys are kept by thumbprint (which names exactly the members the key is made from), oldest out first.
const KEYS = new Map<string, KeyObject>();
const MAX_KEYS = 1024;

export interface DpopOptions {
  clock: Clock;
  replay: ReplayStore;
  /** A proof is taken while its `iat` is at most this far from now, either way. */
  windowSeconds: number;
  /** When set, every proof must carry a nonce these issued (§8). */
  nonces?: DpopNonces;
}

/** What a proof is checked against: the request it came with. */
export interface ProofTarget {
  method: string;
  /** The URLs the request may have been sent to (query and fragment are ignored); any one matches. */
  urls: readonly string[];
  /** For a protected resource: the access token the proof must name in `ath`. */
  accessToken?: string;
}

export interface VerifiedProof {
  /** RFC 7638 thumbprint of the proof's key. */
  jkt: string;
}

function invalid(reason: string): never {
  throw new AppError('invalid_dpop_proof', { reason });
}

function decodeJson(segment: string): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // Falls through to the refusal below.
  }
  return invalid('malformed');
}

/** The URL as compared: origin and path, without query or fragment; undefined when not an absolute http(s) URL. */
export function htuOf(url: string): string | undefined {
  try {
    const u = new URL(url);
    return u.protocol === 'https:' || u.protocol === 'http:' ? `${u.origin}${u.pathname}` : undefined;
  } catch {
    return undefined;
  }
}

function publicKeyOf(alg: DpopAlg, jwk: unknown): { key: KeyObject; jkt: string } {
  if (jwk === null || typeof jwk !== 'object' || Array.isArray(jwk)) invalid('missing jwk');
  const j = jwk as Record<string, unknown>;
  if (PRIVATE_MEMBERS.some((m) => m in j)) invalid('private key in jwk');
  const spec = KEY_OF_ALG[alg];
  if (j.kty !== spec.kty || j.crv !== spec.crv) invalid('jwk does not fit alg');
  const jkt = jwkThumbprint(j);
  if (!jkt) invalid('malformed jwk');
  const known = KEYS.get(jkt);
  if (known) return { key: known, jkt };
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Object.fromEntries(spec.members.map((m) => [m, j[m]])) as never, format: 'jwk' });
  } catch {
    return invalid('malformed jwk');
  }
  if (KEYS.size >= MAX_KEYS) KEYS.delete(KEYS.keys().next().value as string);
  KEYS.set(jkt, key);
  return { key, jkt };
}

function signatureHolds(alg: DpopAlg, key: KeyObject, input: string, signature: Buffer): boolean {
  try {
    if (alg === 'ES256') return signature.length === 64 && verify('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }, signature);
    return verify(null, Buffer.from(input), key, signature);
  } catch {
    return false;
  }
}

const isText = (v: unknown, max: number): v is string => typeof v === 'string' && v.length > 0 && v.length <= max;

/** Verifies DPoP proofs for one service (or one resource server). */
export class DpopVerifier {
  constructor(private readonly opts: DpopOptions) {}

  /** The nonce to hand out with a response (`DPoP-Nonce`); undefined when nonces are off. */
  nonce(): string | undefined {
    return this.opts.nonces?.current();
  }

  /** Checks one `DPoP` header value against its request; the key it proves. */
  async verify(proof: unknown, target: ProofTarget): Promise<VerifiedProof> {
    if (typeof proof !== 'string') invalid(Array.isArray(proof) ? 'more than one proof' : 'missing proof');
    if (proof.length > MAX_PROOF_LENGTH) invalid('malformed');
    const parts = proof.split('.');
    if (parts.length !== 3 || parts.some((p) => p === '')) invalid('malformed');
    const [h, p, s] = parts as [string, string, string];
    const header = decodeJson(h);
    const claims = decodeJson(p);
    const signature = Buffer.from(s, 'base64url');
    if (signature.toString('base64url') !== s) invalid('malformed');
    if (header.typ !== 'dpop+jwt') invalid('wrong typ');
    // No header extension is understood, so none may be critical (RFC 7515 §4.1.11).
    if (header.crit !== undefined) invalid('unsupported crit');
    if (typeof header.alg !== 'string' || !(DPOP_ALGS as readonly string[]).includes(header.alg)) invalid('algorithm not allowed');
    const alg = header.alg as DpopAlg;
    const { key, jkt } = publicKeyOf(alg, header.jwk);
    if (!signatureHolds(alg, key, `${h}.${p}`, signature)) invalid('bad signature');
    this.checkClaims(claims, target);
    const windowMs = this.opts.windowSeconds * 1000;
    // One proof lives from iat - window to iat + window: remembered that long after it was first taken, it cannot come back.
    const replayKey = createHash('sha256')
      .update(`${jkt}.${claims.jti as string}`)
      .digest('base64url');
    if (!(await this.opts.replay.firstUse(replayKey, 2 * windowMs))) invalid('replayed');
    return { jkt };
  }

  private checkClaims(c: Record<string, unknown>, target: ProofTarget): void {
    if (!isText(c.jti, 256)) invalid('missing jti');
    if (c.htm !== target.method.toUpperCase()) invalid('wrong htm');
    const htu = isText(c.htu, 2048) ? htuOf(c.htu) : undefined;
    if (!htu || !target.urls.some((u) => htuOf(u) === htu)) invalid('wrong htu');
    if (typeof c.iat !== 'number' || !Number.isFinite(c.iat)) invalid('missing iat');
    const now = this.opts.clock.now() / 1000;
    if (Math.abs(now - c.iat) > this.opts.windowSeconds) invalid(c.iat < now ? 'stale iat' : 'future iat');
    if (target.accessToken !== undefined && c.ath !== accessTokenHash(target.accessToken)) invalid('wrong ath');
    const nonces = this.opts.nonces;
    if (nonces && !nonces.accepts(c.nonce)) {
      throw new AppError('use_dpop_nonce', {
        description: 'Use the nonce in the DPoP-Nonce header.',
        reason: c.nonce === undefined ? 'missing nonce' : 'stale nonce',
        headers: { 'dpop-nonce': nonces.current() },
      });
    }
  }
}
