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

// ECDSA signature (r, s) has a twin (r, n - s) that verifies as well, so a token would have two spellings.
// Only the low half (s <= n/2) is issued or accepted, as in Bitcoin's BIP 62 and libsecp256k1.
const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const P256_HALF_N = Buffer.from((P256_N >> 1n).toString(16).padStart(64, '0'), 'hex');

const isLowS = (sig: Buffer): boolean => sig.length === 64 && Buffer.compare(sig.subarray(32), P256_HALF_N) <= 0;

/** A 64-byte P1363 ES256 signature with s in the low half; OpenSSL emits either half. */
function lowS(sig: Buffer): Buffer {
  if (isLowS(sig)) return sig;
  const s = P256_N - BigInt(`0x${sig.subarray(32).toString('hex')}`);
  return Buffer.concat([sig.subarray(0, 32), Buffer.from(s.toString(16).padStart(64, '0'), 'hex')]);
}

/** Signs `payload` as a compact JWS with the given protected header. */
export function signCompact(header: Record<string, unknown>, payload: Record<string, unknown>, alg: SigningAlg, key: KeyObject): string {
  const input = `${b64(JSON.stringify({ ...header, alg }))}.${b64(JSON.stringify(payload))}`;
  const spec = ALGS[alg];
  const sig = sign(spec.digest, Buffer.from(input), spec.dsaEncoding ? { key, dsaEncoding: spec.dsaEncoding } : key);
  return `${input}.${b64(alg === 'ES256' ? lowS(sig) : sig)}`;
}

export interface DecodedJws {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  signingInput: Buffer;
  signature: Buffer;
}

/**
 * The bytes of a base64url segment in its one canonical spelling, else null. Node's decoder skips
 * padding and stray characters, takes '+' and '/', and ignores a last character's unused bits,
 * so several strings decode alike; only the one that re-encodes to itself is accepted.
 */
function decodeSegment(segment: string): Buffer | null {
  const bytes = Buffer.from(segment, 'base64url');
  return bytes.toString('base64url') === segment ? bytes : null;
}

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
  // One token, one string. The header and payload need no spelling check: the signature covers
  // their exact text, so another spelling of either fails it. The signature's own spelling it does
  // not cover: only its canonical base64url is taken.
  const signature = decodeSegment(token.slice(b + 1));
  if (!signature) return null;
  const header = parseHeader(token.slice(0, a));
  const payload = parseObject(token.slice(a + 1, b));
  if (!header || !payload) return null;
  return { header, payload, signingInput: Buffer.from(token.slice(0, b)), signature };
}

/** Checks the signature with `key` under exactly `alg`; never throws. */
export function verifySignature(jws: DecodedJws, alg: SigningAlg, key: KeyObject): boolean {
  const spec = ALGS[alg];
  // Ed25519 needs no check here: OpenSSL refuses an S at or above the group order (RFC 8032 §5.1.7),
  // and RSASSA-PKCS1-v1_5 signatures are deterministic.
  if (alg === 'ES256' && !isLowS(jws.signature)) return false;
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
