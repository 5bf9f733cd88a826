import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, type JWK } from 'jose';
import type { SigningAlg } from '../config/schema.js';
import { misconfigured } from '../errors.js';
import type { Clock, Random } from '../util/runtime.js';
import { isSigningAlg, keyFitsAlg, publicKeyFromJwk } from './jws.js';
import { open, seal } from './secrets.js';
import type { KeyStore, StoredKey } from './stores.js';
import type { VerificationKey } from './verifier.js';

export interface KeyRingOptions {
  store: KeyStore;
  region: string;
  alg: SigningAlg;
  /** Encrypts private keys at rest. */
  encryptionKey: Buffer;
  clock: Clock;
  random: Random;
  /** Seconds a rotated-in key is listed in JWKS before it starts signing. */
  publishDelaySeconds: number;
  /** Longest a signed token can be accepted: a retired key stays listed this long. */
  tokenLifetimeSeconds: number;
}

export interface SigningKey {
  kid: string;
  alg: SigningAlg;
  key: KeyObject;
}

interface Loaded {
  stored: StoredKey;
  verification: VerificationKey;
}

/** A key as regions hand it to each other: the public half with its lifetime. Times are epoch ms. */
export interface PublishedKey {
  kid: string;
  alg: string;
  jwk: Record<string, unknown>;
  activatesAt: number;
  retiredAt: number | null;
}

function generate(alg: SigningAlg): { publicJwk: JWK; privateJwk: JWK } {
  const pair =
    alg === 'ES256'
      ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
      : alg === 'EdDSA'
        ? generateKeyPairSync('ed25519')
        : generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { publicJwk: pair.publicKey.export({ format: 'jwk' }) as JWK, privateJwk: pair.privateKey.export({ format: 'jwk' }) as JWK };
}

/** The canonical public JWK of a key another region sent, or null when it is not a sound key for its kid and alg. */
async function publicHalf(k: PublishedKey): Promise<Record<string, unknown> | null> {
  try {
    if (!isSigningAlg(k.alg) || !Number.isFinite(k.activatesAt) || (k.retiredAt !== null && !Number.isFinite(k.retiredAt))) return null;
    const jwk = publicKeyFromJwk(k.jwk, k.alg).export({ format: 'jwk' }) as JWK;
    return (await calculateJwkThumbprint(jwk)) === k.kid ? (jwk as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/**
 * The region's signing keys and every region's verification keys, loaded from
 * the key store and refreshed on an interval so that all servers of a region
 * agree. Private keys are decrypted only for the key that signs.
 */
export class KeyRing {
  private keys = new Map<string, Loaded>();
  private signer: SigningKey | undefined;
  private jwksJson = '{"keys":[]}';
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: KeyRingOptions) {}

  /** Loads keys, creating the region's first key (of the configured alg) when it has none. */
  async init(): Promise<void> {
    await this.reload();
    if (!this.hasLiveKeyOfAlg()) {
      await this.create(true);
      await this.reload();
    }
  }

  /** Adds a new signing key; it signs after the publish delay unless `immediate`. Returns its kid. */
  async rotate(immediate = false): Promise<string> {
    const kid = await this.create(immediate);
    await this.reload();
    return kid;
  }

  async reload(): Promise<void> {
    const now = this.opts.clock.now();
    const rows = await this.opts.store.list(now - this.opts.tokenLifetimeSeconds * 1000);
    const next = new Map<string, Loaded>();
    for (const stored of rows) {
      if (!isSigningAlg(stored.alg)) continue;
      next.set(stored.kid, { stored, verification: { alg: stored.alg, key: publicKeyFromJwk(stored.publicJwk, stored.alg) } });
    }
    this.keys = next;
    this.jwksJson = JSON.stringify({
      keys: rows.map((k) => ({ ...k.publicJwk, kid: k.kid, alg: k.alg, use: 'sig' })),
    });
    this.signer = this.pickSigner(now);
  }

  startAutoReload(intervalSeconds: number, onError: (err: unknown) => void): void {
    this.timer = setInterval(() => this.reload().catch(onError), intervalSeconds * 1000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** The key new tokens are signed with: this region's newest active key. */
  signingKey(): SigningKey {
    const now = this.opts.clock.now();
    // A scheduled rotation takes effect without waiting for the next reload.
    if (!this.signer || !this.isActive(this.keys.get(this.signer.kid)?.stored, now)) {
      try {
        this.signer = this.pickSigner(now);
      } catch (cause) {
        // Rotated in by a server with another MERIDIAN_MASTER_KEY: no token can be signed until an operator fixes it.
        throw misconfigured(`region ${this.opts.region} cannot decrypt its signing key`, cause);
      }
    }
    if (!this.signer) throw misconfigured(`region ${this.opts.region} has no active signing key`);
    return this.signer;
  }

  /** This region's keys that may have signed a live token or will sign, public halves only. */
  ownKeys(): PublishedKey[] {
    return [...this.keys.values()]
      .filter(({ stored }) => stored.region === this.opts.region)
      .map(({ stored: k }) => ({ kid: k.kid, alg: k.alg, jwk: k.publicJwk, activatesAt: k.activatesAt, retiredAt: k.retiredAt }));
  }

  /**
   * Stores another region's public keys (for verification only) and reloads
   * when any was new or changed.
   * A key is taken only when its kid is the thumbprint of its JWK and the JWK
   * fits its algorithm; only the public members are kept. Returns the kids
   * refused.
   */
  async importForeign(region: string, keys: readonly PublishedKey[]): Promise<string[]> {
    if (region === this.opts.region) throw new Error(`refusing to import keys for this region (${region})`);
    const refused: string[] = [];
    const now = this.opts.clock.now();
    let changed = false;
    for (const k of keys) {
      const known = this.keys.get(k.kid)?.stored;
      if (known && known.region === region && known.activatesAt === k.activatesAt && known.retiredAt === k.retiredAt) continue;
      const publicJwk = await publicHalf(k);
      if (!publicJwk) {
        refused.push(String(k.kid));
        continue;
      }
      await this.opts.store.putForeign(
        { kid: k.kid, region, alg: k.alg, publicJwk, privateJwkEnc: null, activatesAt: k.activatesAt, retiredAt: k.retiredAt },
        now,
      );
      changed = true;
    }
    if (changed) await this.reload();
    return refused;
  }

  verificationKey(kid: string): VerificationKey | undefined {
    return this.keys.get(kid)?.verification;
  }

  /** The JWKS document, serialised once per reload. */
  jwks(): string {
    return this.jwksJson;
  }

  private isActive(k: StoredKey | undefined, now: number): boolean {
    return !!k && k.activatesAt <= now && (k.retiredAt === null || k.retiredAt > now);
  }

  private hasLiveKeyOfAlg(): boolean {
    return [...this.keys.values()].some((k) => k.stored.region === this.opts.region && k.stored.alg === this.opts.alg && k.stored.retiredAt === null);
  }

  private pickSigner(now: number): SigningKey | undefined {
    // Rows come newest first.
    for (const { stored } of this.keys.values()) {
      if (stored.region !== this.opts.region || stored.privateJwkEnc === null || !this.isActive(stored, now) || !isSigningAlg(stored.alg)) continue;
      const key = this.decrypt(stored.kid, stored.privateJwkEnc);
      if (!keyFitsAlg(key, stored.alg)) continue;
      return { kid: stored.kid, alg: stored.alg, key };
    }
    return undefined;
  }

  private decrypt(kid: string, sealed: string): KeyObject {
    let jwk: string;
    try {
      jwk = open(this.opts.encryptionKey, sealed, kid);
    } catch (cause) {
      throw new Error(`signing key ${kid} cannot be decrypted: MERIDIAN_MASTER_KEY differs from the one it was created under`, { cause });
    }
    return createPrivateKey({ key: JSON.parse(jwk), format: 'jwk' });
  }

  private async create(immediate: boolean): Promise<string> {
    const now = this.opts.clock.now();
    const { publicJwk, privateJwk } = generate(this.opts.alg);
    const kid = await calculateJwkThumbprint(publicJwk);
    await this.opts.store.add(
      {
        kid,
        region: this.opts.region,
        alg: this.opts.alg,
        publicJwk: publicJwk as Record<string, unknown>,
        privateJwkEnc: seal(this.opts.encryptionKey, JSON.stringify(privateJwk), kid, this.opts.random),
        activatesAt: immediate ? now : now + this.opts.publishDelaySeconds * 1000,
        retiredAt: null,
      },
      now,
    );
    return kid;
  }
}
