import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { within } from '../util/within.js';

/** Refreshes gauges whose value lives elsewhere (database, pool, queues); run before each scrape. */
export type Sampler = () => void | Promise<void>;

// A slow sampler (a database under load) must not hold up the whole scrape.
const SAMPLER_TIMEOUT_MS = 1000;

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
// Replication and revocation spread: from milliseconds on loopback to minutes behind a partition.
const LAG_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

/**
 * Every Prometheus metric the service exports, declared in one place with
 * Prometheus naming (`meridian_*_total`, `_seconds`). Each process owns a
 * registry (tests build several apps in one process); `/metrics` serves it.
 * Counters are fed by audit events (audit.ts), the DB observer and the HTTP
 * plugin; gauges read from elsewhere are refreshed by samplers (`onScrape`).
 * docs/observability.md describes each one with a suggested alert.
 */
export function createMetrics(region: string) {
  const registry = new Registry();
  registry.setDefaultLabels({ region });
  collectDefaultMetrics({ register: registry, prefix: 'meridian_' });
  const r = [registry];
  const samplers: Sampler[] = [];

  return {
    registry,
    /** Adds a sampler, run before every scrape (`/metrics`, the dashboard). */
    onScrape(sampler: Sampler): void {
      samplers.push(sampler);
    },
    /** Runs every sampler; one that fails or times out leaves its gauges at their last value. */
    async sample(): Promise<void> {
      await Promise.all(samplers.map((s) => within(Promise.resolve().then(s), SAMPLER_TIMEOUT_MS)));
    },
    /** The Prometheus text exposition, after sampling. */
    async exposition(): Promise<string> {
      await this.sample();
      return registry.metrics();
    },
    loginAttempts: new Counter({
      name: 'meridian_login_attempts_total',
      help: 'Login attempts by outcome (success, bad_credentials, locked, rate_limited, disabled, invalid_request).',
      labelNames: ['outcome'] as const,
      registers: r,
    }),
    registrations: new Counter({
      name: 'meridian_registrations_total',
      help: 'Registration attempts by outcome (success, username_taken, weak_password, rate_limited, invalid_request).',
      labelNames: ['outcome'] as const,
      registers: r,
    }),
    refreshes: new Counter({
      name: 'meridian_refreshes_total',
      help: 'Refresh attempts by outcome (rotated, grace, rejected, reuse) and path (where the token state came from: db, cache, replica, proxy).',
      labelNames: ['outcome', 'path'] as const,
      registers: r,
    }),
    tokensIssued: new Counter({
      name: 'meridian_tokens_issued_total',
      help: 'Tokens issued by kind (access, refresh).',
      labelNames: ['kind'] as const,
      registers: r,
    }),
    reuseDetections: new Counter({
      name: 'meridian_refresh_reuse_detected_total',
      help: 'Refresh-token families revoked for reuse, by cause (outside_grace, double_spend).',
      labelNames: ['cause'] as const,
      registers: r,
    }),
    logouts: new Counter({
      name: 'meridian_logouts_total',
      help: 'Sessions ended by logout or revocation, by kind (session, all_sessions, revoke).',
      labelNames: ['kind'] as const,
      registers: r,
    }),
    passwordChanges: new Counter({
      name: 'meridian_password_changes_total',
      help: 'Password changes by outcome (success, bad_credentials, locked, rate_limited, weak_password, invalid_request).',
      labelNames: ['outcome'] as const,
      registers: r,
    }),
    adminActions: new Counter({
      name: 'meridian_admin_actions_total',
      help: 'Admin API actions on accounts, by action (user_looked_up, user_disabled, user_enabled, sessions_ended, user_deleted).',
      labelNames: ['action'] as const,
      registers: r,
    }),
    tokenVerifications: new Counter({
      name: 'meridian_access_token_verifications_total',
      help: 'Access-token verifications on protected routes by outcome (valid, missing, expired, revoked, invalid).',
      labelNames: ['outcome'] as const,
      registers: r,
    }),
    revokedSessions: new Gauge({
      name: 'meridian_revoked_sessions',
      help: 'Sessions in the in-memory revocation set (revoked, access tokens possibly unexpired).',
      registers: r,
    }),
    activeSessions: new Gauge({
      name: 'meridian_active_sessions',
      help: 'Sessions whose refresh token can still be used (read from the database, at most every 5 s).',
      registers: r,
    }),
    dbQueries: new Counter({
      name: 'meridian_db_queries_total',
      help: 'Database statements by kind (select, insert, update, delete, ...) and result (ok, error).',
      labelNames: ['statement', 'result'] as const,
      registers: r,
    }),
    shardQueries: new Counter({
      name: 'meridian_db_shard_queries_total',
      help: 'Database statements by shard, in a region over several databases (placement is even when these are).',
      labelNames: ['shard', 'statement'] as const,
      registers: r,
    }),
    dbQuerySeconds: new Histogram({
      name: 'meridian_db_query_duration_seconds',
      help: 'Database statement latency.',
      labelNames: ['statement'] as const,
      buckets: [0.0005, ...LATENCY_BUCKETS],
      registers: r,
    }),
    dbPoolMax: new Gauge({
      name: 'meridian_db_pool_max_connections',
      help: 'Most database connections this process may open (1 for the embedded database).',
      registers: r,
    }),
    dbPoolInUse: new Gauge({
      name: 'meridian_db_pool_connections_in_use',
      help: 'Database connections checked out by a statement or transaction.',
      registers: r,
    }),
    dbPoolWaiting: new Gauge({
      name: 'meridian_db_pool_waiting_requests',
      help: 'Statements and transactions queued for a database connection.',
      registers: r,
    }),
    cacheLookups: new Counter({
      name: 'meridian_cache_lookups_total',
      help: 'Cache lookups by operation and result (hit, miss, error).',
      labelNames: ['operation', 'result'] as const,
      registers: r,
    }),
    cacheFallbacks: new Counter({
      name: 'meridian_cache_fallbacks_total',
      help: 'Requests served from the database because the cache was unreachable, by operation.',
      labelNames: ['operation'] as const,
      registers: r,
    }),
    cacheWrites: new Counter({
      name: 'meridian_cache_writes_total',
      help: 'Cache writes by operation (fill, write_through, sync) and result (stored, stale = a newer entry was kept, error).',
      labelNames: ['operation', 'result'] as const,
      registers: r,
    }),
    revocationsReceived: new Counter({
      name: 'meridian_revocations_received_total',
      help: 'Revoked sessions added to the in-memory set from elsewhere, by source (channel, resync, poll).',
      labelNames: ['source'] as const,
      registers: r,
    }),
    regionCalls: new Counter({
      name: 'meridian_region_calls_total',
      help: 'Calls to other regions by target region, operation (refresh, login, logout, claim, lookup, keys) and outcome (ok, refused, unreachable).',
      labelNames: ['target', 'operation', 'outcome'] as const,
      registers: r,
    }),
    httpRequestSeconds: new Histogram({
      name: 'meridian_http_request_duration_seconds',
      help: 'HTTP request latency by route (the route pattern; "unmatched" for 404s), method and status code.',
      labelNames: ['route', 'method', 'status'] as const,
      buckets: LATENCY_BUCKETS,
      registers: r,
    }),
    queueJobs: new Gauge({
      name: 'meridian_queue_jobs',
      help: 'Jobs in each background queue by state (waiting, delayed, active, failed).',
      labelNames: ['queue', 'state'] as const,
      registers: r,
    }),
    queueJobWaitSeconds: new Histogram({
      name: 'meridian_queue_job_wait_seconds',
      help: 'Time from enqueue to the start of processing, by queue.',
      labelNames: ['queue'] as const,
      buckets: LAG_BUCKETS,
      registers: r,
    }),
    queueJobSeconds: new Histogram({
      name: 'meridian_queue_job_duration_seconds',
      help: 'Job processing time by queue and result (completed, failed).',
      labelNames: ['queue', 'result'] as const,
      buckets: LATENCY_BUCKETS,
      registers: r,
    }),
    rotationWrites: new Counter({
      name: 'meridian_rotation_writes_total',
      help: 'Write-behind rotations by where they were made (redis; postgres while Redis is unreachable) and result (rotated, moved: lost a race).',
      labelNames: ['store', 'result'] as const,
      registers: r,
    }),
    rotationsPending: new Gauge({
      name: 'meridian_rotations_pending_flush',
      help: 'Write-behind rotations made in Redis and not yet written to PostgreSQL.',
      registers: r,
    }),
    flushLag: new Histogram({
      name: 'meridian_rotation_flush_lag_seconds',
      help: 'Age of a write-behind rotation when the worker wrote it to PostgreSQL.',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: r,
    }),
    flushBatch: new Histogram({
      name: 'meridian_rotation_flush_batch_size',
      help: 'Rotations written to PostgreSQL per write-behind flush (one statement each).',
      buckets: [1, 5, 10, 25, 50, 100, 250, 500, 1000],
      registers: r,
    }),
    outboxPending: new Gauge({
      name: 'meridian_outbox_pending_events',
      help: 'Token-change events committed to the outbox and not yet handed to the queue.',
      registers: r,
    }),
    cleanupLastSuccess: new Gauge({
      name: 'meridian_cleanup_last_success_timestamp_seconds',
      help: 'When this process last finished a cleanup run (Unix time; its start time until the first run).',
      registers: r,
    }),
    cleanupInterval: new Gauge({
      name: 'meridian_cleanup_interval_seconds',
      help: 'The configured interval between cleanup runs (MERIDIAN_CLEANUP_INTERVAL).',
      registers: r,
    }),
    replicationApplied: new Counter({
      name: 'meridian_replication_events_applied_total',
      help: 'Replicated changes applied in this region, by peer (origin) region and kind.',
      labelNames: ['peer', 'kind'] as const,
      registers: r,
    }),
    replicationLagSeconds: new Histogram({
      name: 'meridian_replication_lag_seconds',
      help: 'Age of a replicated change when it was applied here, by peer (origin) region.',
      labelNames: ['peer'] as const,
      buckets: LAG_BUCKETS,
      registers: r,
    }),
    replicationPending: new Gauge({
      name: 'meridian_replication_pending_events',
      help: 'Changes made here and not yet applied by the target region, by target.',
      labelNames: ['target'] as const,
      registers: r,
    }),
    revocationPropagationSeconds: new Histogram({
      name: 'meridian_revocation_propagation_seconds',
      help: 'Time from a revocation in a peer region to its enforcement here, by peer (origin) region.',
      labelNames: ['peer'] as const,
      buckets: LAG_BUCKETS,
      registers: r,
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
