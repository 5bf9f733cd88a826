import type { Logger } from 'pino';
import type { Metrics } from './metrics.js';

/**
 * Audit events: one schema for every security-relevant outcome, written as
 * structured log lines (`"audit": true`). Fields are ids and outcomes only,
 * never a password, token or hash.
 */
export type AuditEvent =
  | 'user.registered'
  | 'user.register_failed'
  | 'login.succeeded'
  | 'login.failed'
  | 'token.refreshed'
  | 'token.refresh_failed'
  | 'token.reuse_detected'
  | 'session.logged_out'
  | 'session.revoked';

export interface RequestContext {
  requestId?: string;
  ip?: string;
  /** The region that forwarded this request; a forwarded request is never forwarded again. */
  via?: string;
  /** Set when another region produced the answer (a proxied login or refresh). */
  servedBy?: string;
}

export interface AuditFields {
  userId?: string;
  sessionId?: string;
  outcome?: 'success' | 'failure';
  /** Why it failed, or how it was served (e.g. "grace" for a grace-window retry). */
  reason?: string;
  /** Where a refresh was served from: db, cache, replica or proxy. */
  path?: string;
  count?: number;
}

export type Audit = (event: AuditEvent, fields: AuditFields, ctx?: RequestContext) => void;

/** Failure reasons as metric label values: a small, fixed set. */
function outcomeOf(reason: string | undefined): string {
  const r = reason ?? '';
  if (r.startsWith('rate_limited')) return 'rate_limited';
  if (r === 'invalid_request' || r === 'weak_password' || r === 'username_taken' || r === 'temporarily_unavailable') return r;
  return 'bad_credentials';
}

/** Counts each event in the metrics: the audit stream is the one source of both. */
function count(m: Metrics, event: AuditEvent, f: AuditFields): void {
  switch (event) {
    case 'user.registered':
      return m.registrations.inc({ outcome: 'success' });
    case 'user.register_failed':
      return m.registrations.inc({ outcome: f.reason && /^(rate_limited|weak_password|username_taken|invalid_request)/.test(f.reason) ? f.reason.split(':')[0] : 'error' });
    case 'login.succeeded':
      m.loginAttempts.inc({ outcome: 'success' });
      m.tokensIssued.inc({ kind: 'access' });
      return m.tokensIssued.inc({ kind: 'refresh' });
    case 'login.failed':
      return m.loginAttempts.inc({ outcome: outcomeOf(f.reason) });
    case 'token.refreshed':
      m.refreshes.inc({ outcome: f.reason === 'grace' ? 'grace' : 'rotated', path: f.path ?? 'db' });
      m.tokensIssued.inc({ kind: 'access' });
      if (f.reason !== 'grace') m.tokensIssued.inc({ kind: 'refresh' });
      return;
    case 'token.refresh_failed':
      return m.refreshes.inc({ outcome: 'rejected', path: f.path ?? 'db' });
    case 'token.reuse_detected':
      m.refreshes.inc({ outcome: 'reuse', path: f.path ?? 'db' });
      return m.reuseDetections.inc({ cause: f.reason ?? 'outside_grace' });
    case 'session.logged_out':
      return m.logouts.inc({ kind: f.reason === 'all_sessions' ? 'all_sessions' : 'session' });
    case 'session.revoked':
      return m.logouts.inc({ kind: 'revoke' });
  }
}

export function createAudit(logger: Logger, region: string, metrics?: Metrics): Audit {
  const log = logger.child({ audit: true, region });
  return (event, f, ctx) => {
    if (metrics) count(metrics, event, f);
    log.info(
      {
        event,
        outcome: f.outcome ?? (event.endsWith('failed') || event === 'token.reuse_detected' ? 'failure' : 'success'),
        reason: f.reason,
        user_id: f.userId,
        session_id: f.sessionId,
        path: f.path,
        count: f.count,
        request_id: ctx?.requestId,
        client_ip: ctx?.ip,
      },
      event,
    );
  };
}

/** Discards events; for tools that have no audit trail to keep. */
export const noAudit: Audit = () => {};
