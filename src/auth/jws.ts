import { createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import type { SigningAlg } from '../config/schema.js';

/**
 * Compact JWS signing and signature checking on node:crypto's synchronous
 * primitives. They take microseconds and run on the calling thread, so token
 * checks never queue on the libuv pool behind argon2 hashing (WebCrypto,
 * which jose 6 uses, runs there). Claim rules live in the verifier.
 */

interface AlgSpec {
  digest: string | null;
  dsaEncoding?: 'ieee-p1363';
  keyType: string;
  curve?: string;
}

const ALGS: Record<SigningAlg, AlgSpec> = {
  ES256: { digest: 'sha256', dsaEncoding: 'ieee-p1363', keyType: 'ec', curve: 'prime256v1' },
  EdDSA: { digest: null, keyType: 'ed25519' },
  RS256: { digest: 'sha256', keyType: 'rsa' },
};

export function isSigningAlg(alg: unknown): alg is SigningAlg {
  return typeof alg === 'string' && Object.hasOwn(ALGS, alg);
}

/** True when `key` is of the type (and curve) that `alg` requires. */
export function keyFitsAlg(key: KeyObject, alg: SigningAlg): boolean {
  const spec = ALGS[alg];
  if (key.asymmetricKeyType !== spec.keyType) return false;
  return spec.curve === undefined || key.asymmetricKeyDetails?.namedCurve === spec.curve;
}

const b64 = (data: Buffer | string): string => Buffer.from(data).toString('base64url');

/** Signs `payload` as a compact JWS with the given protected header. */
export function signCompact(header: Record<string, unknown>, payload: Record<string, unknown>, alg: SigningAlg, key: KeyObject): string {
  const input = `${b64(JSON.stringify({ ...header, alg }))}.${b64(JSON.stringify(payload))}`;
  const spec = ALGS[alg];
  const sig = sign(spec.digest, Buffer.from(input), spec.dsaEncoding ? { key, dsaEncoding: spec.dsaEncoding } : key);
  return `${input}.${b64(sig)}`;
}

export interface DecodedJws {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  signingInput: Buffer;
  signature: Buffer;
}

const SEGMENT = /^[A-Za-z0-9_-]*$/;

function parseObject(segment: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** Splits and parses a compact JWS without trusting anything in it; null when malformed. */
// A region signs every token with one of a few headers; decoding each once saves a third of the
// parsing per fresh token. Bounded, and filled only while small, so junk headers cannot grow it.
const HEADERS = new Map<string, Readonly<Record<string, unknown>>>();
const MAX_HEADERS = 64;

function parseHeader(segment: string): Record<string, unknown> | null {
  const known = HEADERS.get(segment);
  if (known) return known;
  const header = parseObject(segment);
  if (header && HEADERS.size < MAX_HEADERS) HEADERS.set(segment, Object.freeze(header));
  return header;
}

export function decodeCompact(token: string): DecodedJws | null {
  // Three non-empty segments; found with indexOf, which allocates nothing (this runs per fresh token).
  const a = token.indexOf('.');
  const b = token.indexOf('.', a + 1);
  if (a < 1 || b < a + 2 || b > token.length - 2 || token.includes('.', b + 1)) return null;
  const s = token.slice(b + 1);
  // Header and payload need no character check: the signature covers their exact text.
  // The signature does: a lenient base64 decoder would accept many spellings of one token.
  if (!SEGMENT.test(s)) return null;
  const header = parseHeader(token.slice(0, a));
  const payload = parseObject(token.slice(a + 1, b));
  if (!header || !payload) return null;
  return { header, payload, signingInput: Buffer.from(token.slice(0, b)), signature: Buffer.from(s, 'base64url') };
}

/** Checks the signature with `key` under exactly `alg`; never throws. */
export function verifySignature(jws: DecodedJws, alg: SigningAlg, key: KeyObject): boolean {
  const spec = ALGS[alg];
  try {
    return verify(spec.digest, jws.signingInput, spec.dsaEncoding ? { key, dsaEncoding: spec.dsaEncoding } : key, jws.signature);
  } catch {
    return false;
  }
}

/** A public KeyObject from a JWK, checked against the algorithm it is listed for. */
export function publicKeyFromJwk(jwk: Record<string, unknown>, alg: SigningAlg): KeyObject {
  const key = createPublicKey({ key: jwk as never, format: 'jwk' });
  if (!keyFitsAlg(key, alg)) throw new Error(`key type does not fit ${alg}`);
  return key;
}
