/**
 * Test harness: a fresh PostgreSQL database (or in-memory PGlite) per app,
 * the real service graph, HTTP through Fastify's inject(), captured logs and
 * a manual clock. Nothing is mocked.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import pg from 'pg';
import { buildApp } from '../src/app.js';
import { freePort as freeHostPort } from '../src/devcluster/ports.js';
import { mintRefreshToken } from '../src/auth/refresh-tokens.js';
import { deriveKey } from '../src/auth/secrets.js';
import { loadConfig } from '../src/config/load.js';
import type { Config } from '../src/config/schema.js';
import { createLogger } from '../src/observability/logger.js';
import type { WorkerTierDeps } from '../src/jobs/worker-tier.js';
import { createServices, type ServiceOptions, type Services } from '../src/services.js';
import type { Db } from '../src/storage/postgres/db.js';
import { openDatabase } from '../src/storage/postgres/drivers.js';
import { storageOn } from '../src/storage/storage.js';
import { ManualClock } from '../src/util/runtime.js';

/** The PostgreSQL server tests create their databases on. */
export const PG_SERVER = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export type Backend = 'postgres' | 'pglite';
export const BACKENDS: Backend[] = ['postgres', 'pglite'];

export const PASSWORD = 'correct horse battery staple';

/** Creates an empty database on the test server; returns its URL and a function that drops it. */
export async function createDatabase(prefix = 'meridian_test'): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_SERVER });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(PG_SERVER);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: PG_SERVER });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/** The master key of every test app (a region on its own derives its refresh-token MAC key from it). */
export const TEST_MASTER_KEY = Buffer.alloc(32, 7);

/** The refresh token a test app would mint for a session's generation. */
export function testRefreshToken(sessionId: string, generation: number): string {
  return mintRefreshToken({ sessionId, generation }, deriveKey(TEST_MASTER_KEY, 'refresh-rotation'));
}

export interface TestApp {
  app: FastifyInstance;
  services: Services;
  config: Config;
  clock: ManualClock;
  db: Db;
  /** Every log line written so far, raw. */
  logs: string[];
  /** Counts of statements run, by kind (select, insert, update, ...). */
  queries: Map<string, number>;
  close(): Promise<void>;
}

export interface TestAppOptions {
  backend?: Backend;
  env?: Record<string, string>;
  clock?: ManualClock;
  /** Reuse the database of another TestApp (several "servers" of one region). */
  databaseUrl?: string;
  services?: Partial<ServiceOptions>;
}

export async function createTestApp(opts: TestAppOptions = {}): Promise<TestApp> {
  const backend = opts.backend ?? 'postgres';
  const clock = opts.clock ?? new ManualClock(Date.parse('2026-06-01T12:00:00Z'));
  const dataDir = mkdtempSync(join(tmpdir(), 'meridian-test-'));
  let dropDb: (() => Promise<void>) | undefined;
  let databaseUrl = opts.databaseUrl;
  if (!databaseUrl && backend === 'postgres') {
    const created = await createDatabase();
    databaseUrl = created.url;
    dropDb = created.drop;
  }
  const env: Record<string, string> = {
    MERIDIAN_DATA_DIR: dataDir,
    MERIDIAN_ISSUER: 'https://auth.test',
    MERIDIAN_MASTER_KEY: TEST_MASTER_KEY.toString('base64url'),
    MERIDIAN_REGISTER_MAX_PER_IP: '10000',
    LOG_LEVEL: 'debug',
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : { DATABASE_URL: 'memory://' }),
    ...opts.env,
  };
  const config = loadConfig(env);
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      logs.push(String(chunk));
      done();
    },
  });
  const queries = new Map<string, number>();
  const db = await openDatabase({
    databaseUrl: config.databaseUrl,
    dataDir,
    poolSize: config.dbPoolSize,
    observer: (e) => queries.set(e.statement, (queries.get(e.statement) ?? 0) + 1),
  });
  let services: Services;
  try {
    services = await createServices(config, { logger: createLogger(config.logLevel, sink), clock, openStorage: (o) => storageOn(db, o), ...opts.services });
  } catch (err) {
    await db.close();
    await dropDb?.();
    throw err;
  }
  const app = await buildApp(services);
  await app.ready();
  return {
    app,
    services,
    config,
    clock,
    db,
    logs,
    queries,
    async close() {
      await app.close();
      await services.close();
      await db.close();
      await dropDb?.();
    },
  };
}

export function json<T = Record<string, unknown>>(res: LightMyRequestResponse): T {
  return JSON.parse(res.body) as T;
}

export function post(app: FastifyInstance, url: string, body?: unknown, headers: Record<string, string> = {}) {
  return app.inject({
    method: 'POST',
    url,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    payload: body === undefined ? undefined : JSON.stringify(body),
  });
}

export async function register(app: FastifyInstance, username: string, password = PASSWORD) {
  return post(app, '/v1/auth/register', { username, password });
}

export interface Tokens {
  access_token: string;
  refresh_token: string;
  expires_in: number;
  refresh_expires_in: number;
  token_type: string;
}

/** Registers (if needed) and logs in; returns the token response. */
export async function login(app: FastifyInstance, username: string, password = PASSWORD): Promise<Tokens> {
  await register(app, username, password);
  const res = await post(app, '/v1/auth/login', { username, password });
  if (res.statusCode !== 200) throw new Error(`login failed: ${res.statusCode} ${res.body}`);
  return json<Tokens>(res);
}

export function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

/** Every refresh token that may have been issued must appear nowhere in these texts. */
export function assertAbsent(haystack: string, needles: string[]): void {
  for (const n of needles) if (haystack.includes(n)) throw new Error(`secret found in plain text: ${n.slice(0, 12)}…`);
}

export async function refresh(app: FastifyInstance, refreshToken: string) {
  return post(app, '/v1/auth/refresh', { refresh_token: refreshToken });
}

export async function logout(app: FastifyInstance, accessToken: string, body: Record<string, unknown> = {}) {
  return post(app, '/v1/auth/logout', body, bearer(accessToken));
}

/** The value of one labelled series of a counter or gauge (0 when absent). */
export async function metricValue(
  metric: {
    get(): Promise<{ values: { labels: Record<string, unknown>; value: number }[] }> | { values: { labels: Record<string, unknown>; value: number }[] };
  },
  labels: Record<string, string>,
): Promise<number> {
  const { values } = await metric.get();
  return values.filter((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want)).reduce((sum, v) => sum + v.value, 0);
}

/** A port nothing listens on right now, on 127.0.0.1, never the same twice in one process. */
export const freePort = (): Promise<number> => freeHostPort();

export interface TestServer extends TestApp {
  /** `http://127.0.0.1:<port>`, which is also the issuer. */
  url: string;
}

/** A TestApp on a real socket (for SDKs and outside clients, not inject()); its issuer is its own URL. */
export async function startTestServer(opts: TestAppOptions = {}): Promise<TestServer> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const t = await createTestApp({ ...opts, env: { MERIDIAN_ISSUER: url, ...opts.env } });
  await t.app.listen({ port, host: '127.0.0.1' });
  return { ...t, url };
}

/**
 * Polls `probe` until it returns something other than false, undefined or null, and resolves with
 * that; fails after `ms` with `what` (a liveness bound, not a timing assertion). The one polling
 * loop of the tests: a probe that throws fails the wait at once (a child process that exited, say).
 */
export async function eventually<T>(
  probe: () => T | Promise<T>,
  ms = 5000,
  what: string | (() => string) = 'condition',
  everyMs = 20,
): Promise<Exclude<T, false | undefined | null>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== false && value !== undefined && value !== null) return value as Exclude<T, false | undefined | null>;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

export interface AccessClaims {
  iss: string;
  sub: string;
  aud: string;
  exp: number;
  iat: number;
  jti: string;
  sid: string;
  client_id: string;
  username: string;
  region: string;
  [claim: string]: unknown;
}

export interface JwsHeader {
  alg: string;
  typ: string;
  kid: string;
  [param: string]: unknown;
}

/** The header and claims of a JWS, decoded without verifying it (the tests issued or built it). */
export function decodeJws(token: string): { header: JwsHeader; claims: AccessClaims } {
  const [header, claims] = token
    .split('.')
    .slice(0, 2)
    .map((part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as unknown);
  return { header: header as JwsHeader, claims: claims as AccessClaims };
}

/** The claims of an access token, unverified. */
export const claimsOf = (token: string): AccessClaims => decodeJws(token).claims;

/** What the worker tier of a test app's region runs on (startWorkerTier), from the app's own services. */
export function tierDeps(t: TestApp): WorkerTierDeps {
  const s = t.services;
  return { config: t.config, storage: s.storage, shared: s.shared, clock: t.clock, logger: s.logger, metrics: s.metrics };
}
