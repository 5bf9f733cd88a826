import type { Logger } from 'pino';
import type { RejectReason } from '../auth/refresh-policy.js';
import type { Metrics } from './metrics.js';

/**
 * Audit events: one schema for every security-relevant outcome, written as
 * structured log lines (`"audit": true`) and counted in the metrics, so the
 * log and the dashboards never disagree. Fields are ids, outcomes and stable
 * reason codes only, never a password, token or hash. docs/observability.md
 * lists every event and field.
 */

/** Where the state a refresh was decided on came from. */
export type RefreshPath = 'db' | 'cache' | 'replica' | 'proxy';
export type LoginFailure = 'bad_credentials' | 'locked' | 'rate_limited' | 'disabled' | 'invalid_request';
export type RegisterFailure = 'invalid_request' | 'weak_password' | 'username_taken' | 'rate_limited' | 'temporarily_unavailable';
/** dpop_proof: a bound session refreshed without a proof by its key (or any proof, where DPoP is required). */
export type RefreshFailure = RejectReason | 'malformed' | 'dpop_proof';
/** outside_grace: a rotated token came back after the window; double_spend: one token rotated in two regions. */
export type ReuseCause = 'outside_grace' | 'double_spend';
export type PasswordChangeFailure = 'bad_credentials' | 'locked' | 'rate_limited' | 'weak_password' | 'invalid_request';
export type AdminAction = 'user_looked_up' | 'user_disabled' | 'user_enabled' | 'sessions_ended' | 'user_deleted';
/** error: the cache could not answer and the lookup fell back to the database. */
export type CacheResult = 'hit' | 'miss' | 'error';

interface Subject {
  userId: string;
  sessionId: string;
}

/** The fields of each event. `userId`/`sessionId` are logged as null where the event has none. */
export interface AuditEvents {
  'user.registered': { userId: string };
  'user.register_failed': { reason: RegisterFailure; detail?: string };
  'login.succeeded': Subject;
  /** `userId` only when the username exists; `detail` refines the reason (e.g. unknown_user vs bad_password). */
  'login.failed': { reason: LoginFailure; detail?: string; userId?: string };
  /**
   * reason: rotated (a new child) or grace (a retry answered with the existing child); ahead: the
   * token was of a generation this region had not heard of yet (minted by another region's rotation).
   */
  'token.refreshed': Subject & { path: RefreshPath; reason: 'rotated' | 'grace'; ahead?: boolean };
  'token.refresh_failed': Partial<Subject> & { reason: RefreshFailure; path?: RefreshPath };
  'token.reuse_detected': Subject & { cause: ReuseCause; path: RefreshPath };
  /** sessionId is the caller's; count is how many sessions ended (0 when already ended). */
  'session.logged_out': Subject & { scope: 'session' | 'all_sessions'; count: number };
  /** A session ended by RFC 7009 revocation of its refresh token. */
  'session.revoked': Subject;
  /** One cache read; logged at debug level, always counted. */
  'cache.lookup': Partial<Subject> & { operation: string; result: CacheResult };
  /** The caller changed its password; count is how many other sessions ended. */
  'password.changed': Subject & { count: number };
  /** A password change refused; a wrong current password is also a login.failed. */
  'password.change_failed': Subject & { reason: PasswordChangeFailure };
  /** An operator's action through the admin API; count is how many sessions ended. */
  'admin.action': { actor: 'admin'; action: AdminAction; userId: string; count?: number };
  /** A change from a peer region applied here; lagSeconds is its age when applied. */
  'replication.applied': Partial<Subject> & { peer: string; kind: string; lagSeconds: number };
}

export type AuditEvent = keyof AuditEvents;

export interface RequestContext {
  requestId?: string;
  ip?: string;
  /** The User-Agent header, recorded with a new session (never logged). */
  userAgent?: string;
  /** The region that forwarded this request; a forwarded request is never forwarded again. */
  forwardedBy?: string;
}

export type Audit = <E extends AuditEvent>(event: E, fields: AuditEvents[E], ctx?: RequestContext) => void;

type Level = 'debug' | 'info' | 'warn';

/** How each event is logged and counted. */
const EVENTS: { [E in AuditEvent]: { level: Level; failure?: (f: AuditEvents[E]) => boolean; count: (m: Metrics, f: AuditEvents[E]) => void } } = {
  'user.registered': {
    level: 'info',
    count: (m) => m.registrations.inc({ outcome: 'success' }),
  },
  'user.register_failed': {
    level: 'info',
    failure: () => true,
    count: (m, f) => m.registrations.inc({ outcome: f.reason }),
  },
  'login.succeeded': {
    level: 'info',
    count: (m) => {
      m.loginAttempts.inc({ outcome: 'success' });
      m.tokensIssued.inc({ kind: 'access' });
      m.tokensIssued.inc({ kind: 'refresh' });
    },
  },
  'login.failed': {
    level: 'info',
    failure: () => true,
    count: (m, f) => m.loginAttempts.inc({ outcome: f.reason }),
  },
  'token.refreshed': {
    level: 'info',
    count: (m, f) => {
      m.refreshes.inc({ outcome: f.reason, path: f.path });
      m.tokensIssued.inc({ kind: 'access' });
      // A grace retry hands out the child minted before: no new refresh token exists.
      if (f.reason === 'rotated') m.tokensIssued.inc({ kind: 'refresh' });
    },
  },
  'token.refresh_failed': {
    level: 'info',
    failure: () => true,
    count: (m, f) => m.refreshes.inc({ outcome: 'rejected', path: f.path ?? 'db' }),
  },
  'token.reuse_detected': {
    level: 'warn',
    failure: () => true,
    count: (m, f) => {
      m.refreshes.inc({ outcome: 'reuse', path: f.path });
      m.reuseDetections.inc({ cause: f.cause });
    },
  },
  'session.logged_out': {
    level: 'info',
    count: (m, f) => m.logouts.inc({ kind: f.scope }),
  },
  'session.revoked': {
    level: 'info',
    count: (m) => m.logouts.inc({ kind: 'revoke' }),
  },
  'cache.lookup': {
    level: 'debug',
    failure: (f) => f.result === 'error',
    count: (m, f) => {
      m.cacheLookups.inc({ operation: f.operation, result: f.result });
      if (f.result === 'error') m.cacheFallbacks.inc({ operation: f.operation });
    },
  },
  'password.changed': {
    level: 'info',
    count: (m) => m.passwordChanges.inc({ outcome: 'success' }),
  },
  'password.change_failed': {
    level: 'info',
    failure: () => true,
    count: (m, f) => m.passwordChanges.inc({ outcome: f.reason }),
  },
  'admin.action': {
    level: 'info',
    count: (m, f) => m.adminActions.inc({ action: f.action }),
  },
  'replication.applied': {
    level: 'info',
    count: (m, f) => {
      m.replicationApplied.inc({ peer: f.peer, kind: f.kind });
      m.replicationLagSeconds.observe({ peer: f.peer }, f.lagSeconds);
      if (f.kind === 'revocation') m.revocationPropagationSeconds.observe({ peer: f.peer }, f.lagSeconds);
    },
  },
};

/** Every event name, in schema order (docs and tests check against it). */
export const AUDIT_EVENTS = Object.keys(EVENTS) as AuditEvent[];

/** camelCase field names as they appear in the log line. */
const LOG_NAMES: Record<string, string> = { userId: 'user_id', sessionId: 'session_id', lagSeconds: 'lag_seconds' };

/** The log record of one event: the common fields always present, then the event's own. */
function record(event: AuditEvent, fields: Record<string, unknown>, failure: boolean, ctx: RequestContext | undefined): Record<string, unknown> {
  const line: Record<string, unknown> = {
    event,
    outcome: failure ? 'failure' : 'success',
    user_id: null,
    session_id: null,
    request_id: ctx?.requestId ?? null,
  };
  if (ctx?.ip) line.client_ip = ctx.ip;
  for (const [k, v] of Object.entries(fields)) if (v !== undefined) line[LOG_NAMES[k] ?? k] = v;
  return line;
}

/**
 * The audit sink of one process: each event is counted in `metrics` and
 * logged through a child of `logger` that carries `audit: true` and the region.
 */
export function createAudit(logger: Logger, region: string, metrics?: Metrics): Audit {
  const log = logger.child({ audit: true, region });
  return (event, fields, ctx) => {
    const spec = EVENTS[event] as { level: Level; failure?: (f: unknown) => boolean; count: (m: Metrics, f: unknown) => void };
    if (metrics) spec.count(metrics, fields);
    if (!log.isLevelEnabled(spec.level)) return;
    log[spec.level](record(event, fields as Record<string, unknown>, spec.failure?.(fields) ?? false, ctx), event);
  };
}

/** Discards events; for tools that have no audit trail to keep. */
export const noAudit: Audit = () => {};
