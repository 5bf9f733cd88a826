/**
 * The one configuration schema. Every setting the service reads is declared
 * here with its environment variable, type, default and bounds; `loadConfig`
 * validates them all at boot and returns a frozen object that is passed in
 * to whatever needs it. Nothing else in the code reads `process.env`.
 */

import { POSTGRES_SCHEMES, REDIS_SCHEMES } from './service-url.js';

export const SIGNING_ALGS = ['ES256', 'EdDSA', 'RS256'] as const;
export type SigningAlg = (typeof SIGNING_ALGS)[number];

const DAY = 86_400;

type Kind =
  | { type: 'int'; min: number; max: number }
  | { type: 'string'; pattern?: RegExp; hint?: string }
  | { type: 'enum'; values: readonly string[] }
  | { type: 'bool' }
  | { type: 'url'; multiHost?: boolean; schemes?: readonly string[] }
  | { type: 'origins' };

interface Field {
  env: string;
  kind: Kind;
  /** A value, or a function of the settings read so far; undefined = optional. */
  default?: unknown;
  doc: string;
}

/** Declaration order matters: a default may depend on an earlier field. */
export const FIELDS = {
  port: { env: 'PORT', kind: { type: 'int', min: 0, max: 65_535 }, default: 8080, doc: 'HTTP port' },
  host: { env: 'HOST', kind: { type: 'string' }, default: '127.0.0.1', doc: 'interface to listen on (0.0.0.0 for all)' },
  databaseUrl: {
    env: 'DATABASE_URL',
    kind: { type: 'url', multiHost: true, schemes: [...POSTGRES_SCHEMES, 'memory'] },
    doc: 'PostgreSQL URL, or `postgres://h1:5432,h2:5432/db?target_session_attrs=read-write` for a primary and standby (writes go to whichever is primary); `memory://` = PGlite in memory (tests); unset = embedded PGlite in the data directory',
  },
  shards: {
    env: 'MERIDIAN_SHARDS',
    kind: {
      type: 'string',
      pattern: /^\s*[a-z][a-z0-9-]{0,31}=postgres(ql)?:\/\/\S+(\s+[a-z][a-z0-9-]{0,31}=postgres(ql)?:\/\/\S+)*\s*$/,
      hint: 'space-separated name=postgres://… pairs',
    },
    doc: 'more PostgreSQL databases for this region, as `name=url` pairs separated by spaces; the slots are split evenly over `main` (DATABASE_URL) and these, in order (docs/scaling.md); unset = one database',
  },
  dataDir: { env: 'MERIDIAN_DATA_DIR', kind: { type: 'string' }, default: './.meridian', doc: 'embedded database, generated master key' },
  region: {
    env: 'MERIDIAN_REGION',
    kind: { type: 'string', pattern: /^[a-z][a-z0-9-]{0,31}$/, hint: 'lower-case letters, digits and -, at most 32, starting with a letter' },
    default: 'local',
    doc: "this region's id",
  },
  issuer: {
    env: 'MERIDIAN_ISSUER',
    kind: { type: 'url' },
    default: (c: Readonly<Record<string, unknown>>) => `http://${c.host === '0.0.0.0' ? '127.0.0.1' : c.host}:${c.port}`,
    doc: 'the `iss` of every access token',
  },
  audience: { env: 'MERIDIAN_AUDIENCE', kind: { type: 'string' }, default: 'meridian', doc: 'the `aud` of every access token' },
  clientId: { env: 'MERIDIAN_CLIENT_ID', kind: { type: 'string' }, default: 'meridian', doc: 'the `client_id` claim (RFC 9068)' },
  // On by default so /oauth/token keeps the grant API.md promises; off for a deployment with third-party clients (docs/oauth.md).
  oauthPasswordGrant: {
    env: 'MERIDIAN_OAUTH_PASSWORD_GRANT',
    kind: { type: 'bool' },
    default: true,
    doc: '`/oauth/token` takes `grant_type=password` (first-party apps only; `/v1/auth/login` is unaffected)',
  },
  accessTokenTtl: { env: 'MERIDIAN_ACCESS_TOKEN_TTL', kind: { type: 'int', min: 30, max: 86_400 }, default: 600, doc: 'access token lifetime, seconds' },
  refreshTokenTtl: {
    env: 'MERIDIAN_REFRESH_TOKEN_TTL',
    kind: { type: 'int', min: 60, max: 400 * DAY },
    default: 30 * DAY,
    doc: 'absolute session lifetime, seconds; never extended by rotation',
  },
  refreshIdleTtl: {
    env: 'MERIDIAN_REFRESH_IDLE_TTL',
    kind: { type: 'int', min: 60, max: 400 * DAY },
    default: 15 * DAY,
    doc: 'a session unused this long ends, seconds',
  },
  refreshGraceSeconds: {
    env: 'MERIDIAN_REFRESH_GRACE_SECONDS',
    kind: { type: 'int', min: 0, max: 300 },
    default: 10,
    doc: 'window in which a retried refresh returns the same successor',
  },
  refreshWrites: {
    env: 'MERIDIAN_REFRESH_WRITES',
    kind: { type: 'enum', values: ['sync', 'write-behind'] },
    default: 'sync',
    doc: 'sync: a rotation commits to PostgreSQL before the answer; write-behind: it is made in Redis and the worker writes it to PostgreSQL within 100 ms (needs REDIS_URL; docs/architecture.md, "Write-behind rotation")',
  },
  dpopRequired: {
    env: 'MERIDIAN_DPOP_REQUIRED',
    kind: { type: 'bool' },
    default: false,
    doc: 'every login and refresh must carry a DPoP proof (RFC 9449), so every session is bound to a key; unbound access tokens are refused',
  },
  dpopNonce: {
    env: 'MERIDIAN_DPOP_NONCE',
    kind: { type: 'bool' },
    default: false,
    doc: 'DPoP proofs must carry a nonce the service handed out in `DPoP-Nonce` (RFC 9449 §8)',
  },
  dpopProofWindow: {
    env: 'MERIDIAN_DPOP_PROOF_WINDOW',
    kind: { type: 'int', min: 5, max: 600 },
    default: 60,
    doc: "a DPoP proof is taken while its `iat` is at most this many seconds from the server's clock; its `jti` is remembered twice as long",
  },
  dpopOrigins: {
    env: 'MERIDIAN_DPOP_ORIGINS',
    kind: { type: 'origins' },
    default: [],
    doc: "comma-separated origins clients may also reach this service at (a gateway): a DPoP proof's `htu` may name them besides the issuer's",
  },
  passwordMinLength: { env: 'MERIDIAN_PASSWORD_MIN_LENGTH', kind: { type: 'int', min: 8, max: 128 }, default: 15, doc: 'minimum password length, characters' },
  passwordMaxLength: {
    env: 'MERIDIAN_PASSWORD_MAX_LENGTH',
    kind: { type: 'int', min: 128, max: 4096 },
    default: 1024,
    doc: 'maximum password length, characters',
  },
  signingAlg: { env: 'MERIDIAN_SIGNING_ALG', kind: { type: 'enum', values: SIGNING_ALGS }, default: 'ES256', doc: 'access token signature algorithm' },
  masterKey: {
    env: 'MERIDIAN_MASTER_KEY',
    kind: { type: 'string', pattern: /^[A-Za-z0-9+/_-]{43}=?$/, hint: '32 bytes, base64 or base64url' },
    doc: 'encrypts signing keys at rest and keys refresh rotation; unset = generated in the data directory',
  },
  keyPublishDelay: {
    env: 'MERIDIAN_KEY_PUBLISH_DELAY',
    kind: { type: 'int', min: 0, max: DAY },
    default: 60,
    doc: 'seconds a rotated-in key is published before it signs',
  },
  keyReloadInterval: {
    env: 'MERIDIAN_KEY_RELOAD_INTERVAL',
    kind: { type: 'int', min: 1, max: 3600 },
    default: 30,
    doc: "seconds between reloads of the key set from the database (and fetches of other regions' keys)",
  },
  clockSkewSeconds: { env: 'MERIDIAN_CLOCK_SKEW', kind: { type: 'int', min: 0, max: 300 }, default: 30, doc: 'leeway for `iat`/`exp` between servers' },
  bodyLimit: { env: 'MERIDIAN_BODY_LIMIT', kind: { type: 'int', min: 1024, max: 1_048_576 }, default: 16_384, doc: 'largest request body, bytes' },
  loginMaxFailuresPerAccount: {
    env: 'MERIDIAN_LOGIN_MAX_FAILURES',
    kind: { type: 'int', min: 1, max: 100 },
    default: 10,
    doc: 'failed logins per account before a lockout',
  },
  loginMaxFailuresPerIp: {
    env: 'MERIDIAN_LOGIN_MAX_FAILURES_PER_IP',
    kind: { type: 'int', min: 1, max: 100_000 },
    default: 100,
    doc: 'failed logins per client IP before a lockout',
  },
  loginLockoutSeconds: {
    env: 'MERIDIAN_LOGIN_LOCKOUT',
    kind: { type: 'int', min: 1, max: 900 },
    default: 900,
    doc: 'failure counting window and longest lockout, seconds',
  },
  registerMaxPerIp: {
    env: 'MERIDIAN_REGISTER_MAX_PER_IP',
    kind: { type: 'int', min: 1, max: 1_000_000 },
    default: 30,
    doc: 'registrations per client IP per window',
  },
  registerWindowSeconds: {
    env: 'MERIDIAN_REGISTER_WINDOW',
    kind: { type: 'int', min: 1, max: DAY },
    default: 3600,
    doc: 'registration throttling window, seconds',
  },
  trustProxy: {
    env: 'MERIDIAN_TRUST_PROXY',
    kind: { type: 'bool' },
    default: false,
    doc: 'behind one proxy (the gateway): take the client IP from the last X-Forwarded-For entry, the one that proxy wrote',
  },
  logLevel: {
    env: 'LOG_LEVEL',
    kind: { type: 'enum', values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] },
    default: 'info',
    doc: 'log level',
  },
  dbPoolSize: { env: 'MERIDIAN_DB_POOL_SIZE', kind: { type: 'int', min: 1, max: 200 }, default: 10, doc: 'PostgreSQL connections per process' },
  redisUrl: {
    env: 'REDIS_URL',
    kind: { type: 'url', multiHost: true, schemes: REDIS_SCHEMES },
    doc: "the region's Redis (cache, queues, revocation channel), or `redis+sentinel://s1:26379,s2:26379/<master name>` for one watched by Sentinel, or `redis+cluster://h1:6379,h2:6379` for a Redis Cluster, or `unix:///path/redis.sock`; unset = in-process cache and queue",
  },
  adminToken: {
    env: 'MERIDIAN_ADMIN_TOKEN',
    kind: { type: 'string', pattern: /^[\x21-\x7e]{16,256}$/, hint: '16 to 256 printable characters' },
    doc: 'bearer token for admin pages (queues, dashboard), the admin API (/admin/v1) and introspection; unset = admin pages and API off',
  },
  corsOrigins: {
    env: 'MERIDIAN_CORS_ORIGINS',
    kind: { type: 'origins' },
    default: [],
    doc: 'comma-separated browser origins allowed to call the API (CORS); unset = none',
  },
  introspectionToken: {
    env: 'MERIDIAN_INTROSPECTION_TOKEN',
    kind: { type: 'string', pattern: /^[\x21-\x7e]{16,256}$/, hint: '16 to 256 printable characters' },
    doc: 'bearer token resource servers present to /oauth/introspect',
  },
  redisPrefix: {
    env: 'MERIDIAN_REDIS_PREFIX',
    kind: { type: 'string', pattern: /^[A-Za-z0-9_.-]{1,64}$/, hint: '1 to 64 letters, digits, _, . or -' },
    default: 'meridian',
    doc: 'start of every Redis key, so deployments can share a Redis',
  },
  cleanupInterval: {
    env: 'MERIDIAN_CLEANUP_INTERVAL',
    kind: { type: 'int', min: 1, max: DAY },
    default: 300,
    doc: 'seconds between cleanups of expired tokens, families and sent outbox rows',
  },
  jobLockSeconds: {
    env: 'MERIDIAN_JOB_LOCK_SECONDS',
    kind: { type: 'int', min: 1, max: 3600 },
    default: 30,
    doc: 'a job whose worker stops renewing its lock this long is run again by another worker',
  },
  workerMetricsPort: {
    env: 'MERIDIAN_WORKER_METRICS_PORT',
    kind: { type: 'int', min: 0, max: 65_535 },
    default: 9464,
    doc: '`meridian worker` serves /metrics on this port (0 = any free port)',
  },
  regionsFile: {
    env: 'MERIDIAN_REGIONS_FILE',
    kind: { type: 'string' },
    doc: 'JSON file listing every region (docs/multi-region.md); unset = one region on its own',
  },
  regionSecret: {
    env: 'MERIDIAN_REGION_SECRET',
    kind: { type: 'string', pattern: /^[\x21-\x7e]{32,256}$/, hint: '32 to 256 printable characters' },
    doc: 'shared secret regions present to each other on /internal/v1; required with MERIDIAN_REGIONS_FILE',
  },
  regionTimeoutMs: {
    env: 'MERIDIAN_REGION_TIMEOUT_MS',
    kind: { type: 'int', min: 100, max: 30_000 },
    default: 2000,
    doc: 'a call to another region that takes longer counts as unreachable, ms',
  },
} satisfies Record<string, Field>;

/** The value a field of `kind` holds. */
type ValueOf<K extends Kind> = K extends { type: 'int' }
  ? number
  : K extends { type: 'bool' }
    ? boolean
    : K extends { type: 'enum'; values: readonly (infer V)[] }
      ? V
      : K extends { type: 'origins' }
        ? readonly string[]
        : string;

type Fields = typeof FIELDS;

/**
 * The validated settings, derived from FIELDS so that the two cannot drift:
 * each field has the type its kind reads, and is optional exactly when it has
 * no default.
 */
export type Config = {
  readonly [F in keyof Fields]: ValueOf<Fields[F]['kind']> | (Fields[F] extends { default: unknown } ? never : undefined);
};
