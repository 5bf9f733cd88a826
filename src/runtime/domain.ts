import { AccessTokenIssuer } from '../auth/access-tokens.js';
import { AccountService } from '../auth/account-service.js';
import { Accounts } from '../auth/accounts.js';
import type { CounterStore } from '../auth/counters.js';
import type { SessionStore } from '../auth/stores.js';
import { DpopVerifier } from '../auth/dpop.js';
import { DpopNonces } from '../auth/dpop-nonce.js';
import { KeyRing } from '../auth/keys.js';
import { OAuthService } from '../auth/oauth.js';
import { PasswordHasher } from '../auth/passwords.js';
import { RevocationFeed } from '../auth/revocation-feed.js';
import { RevocationSync } from '../auth/revocation-sync.js';
import { RevocationSet } from '../auth/revocations.js';
import { deriveKey, type KeyPurpose } from '../auth/secrets.js';
import { SessionService } from '../auth/sessions.js';
import { Throttle } from '../auth/throttle.js';
import { AccessTokenVerifier } from '../auth/verifier.js';
import { createRegionServices, type RegionServices } from '../regions/setup.js';
import { CachedSessionStore } from '../storage/cache/cached-session-store.js';
import { WriteBehindSessionStore } from '../storage/cache/write-behind-session-store.js';
import type { Infrastructure } from './infrastructure.js';

/** The token service of one API process, wired over its infrastructure. */
export interface Domain {
  keys: KeyRing;
  verifier: AccessTokenVerifier;
  revocations: RevocationSet;
  /** Keeps `revocations` in step with the region (channel, reloads, polling). */
  revocationSync: RevocationSync;
  /** What verifiers elsewhere follow to learn of `revocations`. */
  revocationFeed: RevocationFeed;
  accounts: Accounts;
  sessions: SessionService;
  /** The session list, password change and the admin API's account actions. */
  accountService: AccountService;
  /** The OAuth 2.0 endpoints over `sessions` and `verifier`. */
  oauth: OAuthService;
  /** Checks DPoP proofs (RFC 9449) for logins, refreshes and protected endpoints. */
  dpop: DpopVerifier;
  /** Directory, proxies and key sharing with other regions; undefined for a region on its own. */
  regions: RegionServices | undefined;
}

export interface DomainOptions {
  counters?: CounterStore;
  hasher?: PasswordHasher;
}

/**
 * A key every region derives alike: that of refresh-token children and of
 * DPoP nonces. In a topology every region that holds a family may rotate it,
 * so a retry inside the grace window must get the same child wherever it
 * lands (and a nonce from one region must work in another): the key comes
 * from the secret all regions share, not from the region's own master key.
 */
function sharedKey(master: Buffer, regions: RegionServices | undefined, purpose: KeyPurpose): Buffer {
  return deriveKey(regions ? Buffer.from(regions.secret, 'utf8') : master, purpose);
}

/** Builds the domain objects. No I/O and no timers: starting them is startDomain's (src/runtime/start.ts). */
export function buildDomain(infra: Infrastructure, opts: DomainOptions = {}): Domain {
  const { config, clock, random, logger, metrics, audit, storage, shared, topology } = infra;
  // An access token is acceptable from iat to exp, plus the skew on either side.
  const tokenLifetimeSeconds = config.accessTokenTtl + 2 * config.clockSkewSeconds;
  const keys = new KeyRing({
    store: storage.keys,
    region: config.region,
    alg: config.signingAlg,
    encryptionKey: deriveKey(infra.masterKey, 'signing-key-encryption'),
    clock,
    random,
    publishDelaySeconds: config.keyPublishDelay,
    tokenLifetimeSeconds,
  });
  // Every committed change is written through to the cache by the process that made it.
  const sessionStorage = storage.sessions((change) => shared.cache.tryWrite(change, 'write_through'));
  const revocations = new RevocationSet(clock, tokenLifetimeSeconds * 1000);
  const revocationSync = new RevocationSync({
    set: revocations,
    bus: shared.bus,
    store: sessionStorage,
    clock,
    retentionMs: tokenLifetimeSeconds * 1000,
    // Without Redis this is the region's only server (see the warning at start-up): nobody else revokes.
    pollWhileDisconnected: shared.bus !== undefined && storage.kind === 'postgres',
    overlapMs: config.clockSkewSeconds * 1000,
    logger,
    metrics,
  });
  const verifier = new AccessTokenVerifier({
    issuer: config.issuer,
    audience: config.audience,
    algorithms: ['ES256', 'EdDSA', 'RS256'],
    maxAgeSeconds: config.accessTokenTtl,
    clockSkewSeconds: config.clockSkewSeconds,
    clock,
    keys: (kid) => keys.verificationKey(kid),
    isRevoked: (sid) => revocations.has(sid),
  });
  const regions =
    topology &&
    createRegionServices(config, topology, {
      storage,
      keys,
      logger,
      metrics,
      replica: { sessions: sessionStorage, cache: shared.cache, revocations: revocationSync, audit, clock, graceMs: config.refreshGraceSeconds * 1000 },
    });
  const accounts = new Accounts({
    users: storage.users,
    directory: regions?.directory,
    hasher: opts.hasher ?? new PasswordHasher(),
    throttle: new Throttle(opts.counters ?? shared.counters, config, clock),
    policy: { minLength: config.passwordMinLength, maxLength: config.passwordMaxLength },
    region: config.region,
    clock,
    random,
    audit,
  });
  const access = new AccessTokenIssuer(
    { issuer: config.issuer, audience: config.audience, clientId: config.clientId, region: config.region, ttlSeconds: config.accessTokenTtl },
    keys,
    clock,
    random,
  );
  const sessionStore: SessionStore =
    config.refreshWrites === 'write-behind' && shared.rotations
      ? new WriteBehindSessionStore(sessionStorage, shared.cache, shared.rotations, audit, metrics)
      : new CachedSessionStore(sessionStorage, shared.cache, audit);
  const sessions = new SessionService({
    settings: {
      region: config.region,
      refreshTtlSeconds: config.refreshTokenTtl,
      refreshIdleSeconds: config.refreshIdleTtl,
      graceSeconds: config.refreshGraceSeconds,
      rotationKey: sharedKey(infra.masterKey, regions, 'refresh-rotation'),
      requireDpop: config.dpopRequired,
    },
    sessions: sessionStore,
    accounts,
    access,
    revocations: revocationSync,
    clock,
    random,
    audit,
    remote: regions?.remote,
  });
  return {
    keys,
    verifier,
    revocations,
    revocationSync,
    revocationFeed: new RevocationFeed(revocations, clock, config.clockSkewSeconds * 1000),
    accounts,
    sessions,
    accountService: new AccountService({
      users: storage.users,
      sessions: sessionStore,
      logins: sessions,
      accounts,
      revocations: revocationSync,
      region: config.region,
      refreshIdleSeconds: config.refreshIdleTtl,
      clock,
      audit,
      remote: regions?.remote,
      directory: regions?.directory,
    }),
    oauth: new OAuthService({ issuer: config.issuer, clientId: config.clientId, passwordGrant: config.oauthPasswordGrant }, sessions, verifier),
    regions,
    dpop: new DpopVerifier({
      clock,
      replay: shared.replay,
      windowSeconds: config.dpopProofWindow,
      // Keyed like rotation: a nonce handed out by one region is taken by every other.
      nonces: config.dpopNonce ? new DpopNonces(sharedKey(infra.masterKey, regions, 'dpop-nonce'), clock, config.dpopProofWindow) : undefined,
    }),
  };
}
