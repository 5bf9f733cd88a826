import type { Logger } from 'pino';
import { AccessTokenIssuer } from './auth/access-tokens.js';
import { Accounts } from './auth/accounts.js';
import type { CounterStore } from './auth/counters.js';
import { KeyRing } from './auth/keys.js';
import { OAuthService } from './auth/oauth.js';
import { PasswordHasher } from './auth/passwords.js';
import { RevocationFeed } from './auth/revocation-feed.js';
import { RevocationSync } from './auth/revocation-sync.js';
import { RevocationSet } from './auth/revocations.js';
import { deriveKey, resolveMasterKey } from './auth/secrets.js';
import { SessionService } from './auth/sessions.js';
import { Throttle } from './auth/throttle.js';
import { AccessTokenVerifier } from './auth/verifier.js';
import type { Config } from './config/schema.js';
import { type Audit, createAudit } from './observability/audit.js';
import { sampleServiceGauges } from './observability/gauges.js';
import { createMetrics, type Metrics } from './observability/metrics.js';
import type { Db, QueryObserver } from './storage/postgres/db.js';
import { openDatabase } from './storage/postgres/drivers.js';
import { migrate } from './storage/postgres/migrate.js';
import { SQL } from './storage/postgres/sql.js';
import { PgKeyStore, PgSessionStore, PgUserStore } from './storage/postgres/repositories.js';
import { CachedSessionStore } from './storage/cache/cached-session-store.js';
import { openSharedState, type SharedState } from './storage/shared.js';
import { createRegionServices, type RegionServices } from './regions/setup.js';
import { loadTopologyFile, type Topology } from './regions/topology.js';
import { type Clock, type Random, systemClock, systemRandom } from './util/runtime.js';
import { within } from './util/within.js';

/** Everything a region's API process runs on, wired once from the config. */
export interface Services {
  config: Config;
  logger: Logger;
  clock: Clock;
  db: Db;
  keys: KeyRing;
  verifier: AccessTokenVerifier;
  revocations: RevocationSet;
  /** What verifiers elsewhere follow to learn of `revocations`. */
  revocationFeed: RevocationFeed;
  accounts: Accounts;
  sessions: SessionService;
  /** The OAuth 2.0 endpoints over `sessions` and `verifier`. */
  oauth: OAuthService;
  audit: Audit;
  metrics: Metrics;
  /** Cache, counters and revocation channel shared by the region's processes (Redis, or in-process). */
  shared: SharedState;
  /** Directory, proxies and key sharing with other regions; undefined for a region on its own. */
  regions: RegionServices | undefined;
  /** State of each dependency, for /readyz. */
  readiness(): Promise<Record<string, DependencyState>>;
  close(): Promise<void>;
}

export type DependencyState = 'ok' | 'degraded' | 'down';

export interface ServiceOptions {
  logger: Logger;
  clock?: Clock;
  random?: Random;
  /** An already open database (tests share one per file). */
  db?: Db;
  counters?: CounterStore;
  hasher?: PasswordHasher;
  queryObserver?: QueryObserver;
  /** The region topology; default: read from MERIDIAN_REGIONS_FILE when set. */
  topology?: Topology;
}

/**
 * The key children of refresh tokens are derived under. In a topology every
 * region that holds a family may rotate it, so a retry inside the grace
 * window must get the same child wherever it lands: the key comes from the
 * secret all regions share, not from the region's own master key.
 */
function rotationKey(master: Buffer, regions: RegionServices | undefined): Buffer {
  return deriveKey(regions ? Buffer.from(regions.secret, 'utf8') : master, 'refresh-rotation');
}

export async function createServices(config: Config, opts: ServiceOptions): Promise<Services> {
  const clock = opts.clock ?? systemClock;
  const random = opts.random ?? systemRandom;
  const logger = opts.logger;
  // Read first: a bad regions file stops start-up before anything else is touched.
  const topology = opts.topology ?? (config.regionsFile ? loadTopologyFile(config.regionsFile) : undefined);
  const master = resolveMasterKey(config.masterKey, config.dataDir, random);
  if (master.origin === 'generated') logger.warn({ dataDir: config.dataDir }, 'generated a new master key in the data directory');
  if (master.origin !== 'config' && config.databaseUrl?.startsWith('postgres')) {
    logger.warn('MERIDIAN_MASTER_KEY is not set: every server of this region must share the same master key');
  }

  const db =
    opts.db ??
    (await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: config.dbPoolSize, observer: opts.queryObserver }));
  const metrics = createMetrics(config.region);
  db.observe((e) => {
    metrics.dbQueries.inc({ statement: e.statement, result: e.ok ? 'ok' : 'error' });
    metrics.dbQuerySeconds.observe({ statement: e.statement }, e.seconds);
  });
  const applied = await migrate(db, { log: logger });
  if (applied.length) logger.info({ applied }, 'database migrated');

  // An access token is acceptable from iat to exp, plus the skew on either side.
  const tokenLifetimeSeconds = config.accessTokenTtl + 2 * config.clockSkewSeconds;
  const keys = new KeyRing({
    store: new PgKeyStore(db),
    region: config.region,
    alg: config.signingAlg,
    encryptionKey: deriveKey(master.key, 'signing-key-encryption'),
    clock,
    random,
    publishDelaySeconds: config.keyPublishDelay,
    tokenLifetimeSeconds,
  });
  await keys.init();
  keys.startAutoReload(config.keyReloadInterval, (err) => logger.error({ err }, 'signing key reload failed'));

  const audit = createAudit(logger, config.region, metrics);
  const shared = await openSharedState(config, { logger, clock, metrics, audit });
  if (shared.kind === 'memory' && db.kind === 'postgres') {
    logger.warn('REDIS_URL is not set: cache, throttling and revocations are per process, so run one server per region or set REDIS_URL');
  }
  // Every committed change is written through to the cache by the process that made it;
  // in a topology, logins and rotations are outbox events too, for the other regions.
  const pgSessions = new PgSessionStore(db, { onChange: (change) => shared.cache.tryWrite(change, 'write_through'), replicate: topology !== undefined });
  const sessionStore = new CachedSessionStore(pgSessions, shared.cache, audit);
  const revocations = new RevocationSet(clock, tokenLifetimeSeconds * 1000);
  const revocationSync = new RevocationSync({
    set: revocations,
    bus: shared.bus,
    store: pgSessions,
    clock,
    retentionMs: tokenLifetimeSeconds * 1000,
    // Without Redis this is the region's only server (see the warning above): nobody else revokes.
    pollWhileDisconnected: shared.bus !== undefined && db.kind === 'postgres',
    overlapMs: config.clockSkewSeconds * 1000,
    logger,
    metrics,
  });
  await revocationSync.start();
  sampleServiceGauges(metrics, { db, revocations, clock, refreshIdleSeconds: config.refreshIdleTtl });

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

  // In a topology each new user is also an outbox event, for the nearby regions' local logins.
  const users = new PgUserStore(db, topology !== undefined);
  const regions =
    topology &&
    createRegionServices(config, topology, {
      db,
      users,
      keys,
      logger,
      metrics,
      replica: { sessions: pgSessions, cache: shared.cache, revocations: revocationSync, audit, clock, graceMs: config.refreshGraceSeconds * 1000 },
    });
  const accounts = new Accounts({
    users,
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
  const sessions = new SessionService({
    settings: {
      region: config.region,
      refreshTtlSeconds: config.refreshTokenTtl,
      refreshIdleSeconds: config.refreshIdleTtl,
      graceSeconds: config.refreshGraceSeconds,
      rotationKey: rotationKey(master.key, regions),
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
    config,
    logger,
    clock,
    db,
    keys,
    verifier,
    revocations,
    revocationFeed: new RevocationFeed(revocations, clock, config.clockSkewSeconds * 1000),
    accounts,
    sessions,
    oauth: new OAuthService({ issuer: config.issuer, clientId: config.clientId, passwordGrant: config.oauthPasswordGrant }, sessions, verifier),
    audit,
    metrics,
    shared,
    regions,
    async readiness() {
      const [database, cache] = await Promise.all([within(db.query(SQL.ping), 2000), shared.state()]);
      // Without Redis every request is served from PostgreSQL: slower, not down ("degraded").
      return { database: database ? 'ok' : 'down', cache };
    },
    async close() {
      keys.stop();
      revocationSync.stop();
      await shared.close();
      regions?.close();
      if (!opts.db) await db.close();
    },
  };
}
