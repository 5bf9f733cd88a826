/**
 * A DPoP client key for tests: signs RFC 9449 proofs with node:crypto, with
 * every claim and header open to overriding, so attacks can be written as
 * one proof each.
 */
import { createHash, createHmac, generateKeyPairSync, type KeyObject, randomBytes, sign } from 'node:crypto';
import type { Clock } from '../src/util/runtime.js';

export const ISSUER = 'https://auth.test';

const b64 = (v: unknown): string => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

export const athOf = (accessToken: string): string => createHash('sha256').update(accessToken).digest('base64url');

export interface ProofOptions {
  /** Claims to add or replace (`undefined` removes one). */
  claims?: Record<string, unknown>;
  /** Header members to add or replace. */
  header?: Record<string, unknown>;
  /** The access token the proof names in `ath`. */
  accessToken?: string;
}

export class DpopKey {
  readonly jwk: Record<string, string>;
  readonly jkt: string;
  private readonly privateKey: KeyObject;

  constructor(
    private readonly clock: Clock,
    readonly alg: 'ES256' | 'EdDSA' = 'ES256',
  ) {
    const pair = alg === 'ES256' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('ed25519');
    this.privateKey = pair.privateKey;
    const { kty, crv, x, y } = pair.publicKey.export({ format: 'jwk' }) as Record<string, string>;
    this.jwk = alg === 'ES256' ? { kty: kty!, crv: crv!, x: x!, y: y! } : { kty: kty!, crv: crv!, x: x! };
    const members = alg === 'ES256' ? { crv, kty, x, y } : { crv, kty, x };
    this.jkt = createHash('sha256').update(JSON.stringify(members)).digest('base64url');
  }

  /** The private JWK (for the attack that sends it). */
  privateJwk(): Record<string, unknown> {
    return this.privateKey.export({ format: 'jwk' }) as Record<string, unknown>;
  }

  proof(htm: string, path: string, opts: ProofOptions = {}): string {
    const header = { typ: 'dpop+jwt', alg: this.alg, jwk: this.jwk, ...opts.header };
    const claims: Record<string, unknown> = {
      jti: randomBytes(12).toString('base64url'),
      htm,
      htu: `${ISSUER}${path}`,
      iat: Math.floor(this.clock.now() / 1000),
      ...(opts.accessToken ? { ath: athOf(opts.accessToken) } : {}),
      ...opts.claims,
    };
    const input = `${b64(header)}.${b64(claims)}`;
    const sig =
      this.alg === 'ES256'
        ? sign('sha256', Buffer.from(input), { key: this.privateKey, dsaEncoding: 'ieee-p1363' })
        : sign(null, Buffer.from(input), this.privateKey);
    return `${input}.${sig.toString('base64url')}`;
  }
}

/** A proof "signed" with HMAC under a key of the attacker's choosing: must never be taken. */
export function hmacProof(key: DpopKey, clock: Clock, path: string): string {
  const header = { typ: 'dpop+jwt', alg: 'HS256', jwk: key.jwk };
  const claims = { jti: randomBytes(12).toString('base64url'), htm: 'POST', htu: `${ISSUER}${path}`, iat: Math.floor(clock.now() / 1000) };
  const input = `${b64(header)}.${b64(claims)}`;
  return `${input}.${createHmac('sha256', 'secret').update(input).digest('base64url')}`;
}

/** An unsigned proof (`alg: none`). */
export function unsignedProof(key: DpopKey, clock: Clock, path: string): string {
  const header = { typ: 'dpop+jwt', alg: 'none', jwk: key.jwk };
  const claims = { jti: randomBytes(12).toString('base64url'), htm: 'POST', htu: `${ISSUER}${path}`, iat: Math.floor(clock.now() / 1000) };
  return `${b64(header)}.${b64(claims)}.`;
}
