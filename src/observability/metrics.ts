import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Every Prometheus metric the service exports, declared in one place with
 * Prometheus naming (`meridian_*_total`, `_seconds`). Each process owns a
 * registry (tests build several apps in one process); `/metrics` serves it.
 * docs/observability.md describes each one with a suggested alert.
 */
export function createMetrics(region: string) {
  const registry = new Registry();
  registry.setDefaultLabels({ region });
  collectDefaultMetrics({ register: registry, prefix: 'meridian_process_' });
  const r = [registry];

  return {
    registry,
    loginAttempts: new Counter({
      name: 'meridian_login_attempts_total',
      help: 'Login attempts by outcome (success, bad_credentials, rate_limited, invalid_request).',
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
      help: 'Refresh attempts by outcome (rotated, grace, rejected, reuse) and path (db, cache, replica, proxy).',
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
    tokenVerifications: new Counter({
      name: 'meridian_access_token_verifications_total',
      help: 'Access-token verifications on protected routes by outcome (valid, invalid, revoked).',
      labelNames: ['outcome'] as const,
      registers: r,
    }),
    revokedSessions: new Gauge({
      name: 'meridian_revoked_sessions',
      help: 'Sessions in the in-memory revocation set (revoked, access tokens possibly unexpired).',
      registers: r,
    }),
    dbQueries: new Counter({
      name: 'meridian_db_queries_total',
      help: 'Database statements by kind (select, insert, update, delete, ...) and result (ok, error).',
      labelNames: ['statement', 'result'] as const,
      registers: r,
    }),
    dbQuerySeconds: new Histogram({
      name: 'meridian_db_query_duration_seconds',
      help: 'Database statement latency.',
      labelNames: ['statement'] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
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
    queueDepth: new Gauge({
      name: 'meridian_queue_jobs',
      help: 'Jobs in each queue by state (waiting, active, delayed, failed); sampled at scrape time.',
      labelNames: ['queue', 'state'] as const,
      registers: r,
    }),
    jobSeconds: new Histogram({
      name: 'meridian_job_duration_seconds',
      help: 'Job run time by queue, job name and result (ok, error).',
      labelNames: ['queue', 'job', 'result'] as const,
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60],
      registers: r,
    }),
    jobFailures: new Counter({
      name: 'meridian_job_failures_total',
      help: 'Job attempts that failed, by queue and job name (retried with backoff until attempts run out, then kept as failed).',
      labelNames: ['queue', 'job'] as const,
      registers: r,
    }),
    outboxBacklog: new Gauge({
      name: 'meridian_outbox_backlog',
      help: 'Outbox rows committed but not yet moved to the job queue; sampled at scrape time.',
      registers: r,
    }),
    httpRequestSeconds: new Histogram({
      name: 'meridian_http_request_duration_seconds',
      help: 'HTTP request latency by route and status code.',
      labelNames: ['route', 'method', 'status'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: r,
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
