import type { Logger } from 'pino';

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
}

export interface AuditFields {
  userId?: string;
  sessionId?: string;
  outcome?: 'success' | 'failure';
  /** Why it failed, or how it was served (e.g. "grace" for a grace-window retry). */
  reason?: string;
  count?: number;
}

export type Audit = (event: AuditEvent, fields: AuditFields, ctx?: RequestContext) => void;

export function createAudit(logger: Logger, region: string): Audit {
  const log = logger.child({ audit: true, region });
  return (event, f, ctx) => {
    log.info(
      {
        event,
        outcome: f.outcome ?? (event.endsWith('failed') || event === 'token.reuse_detected' ? 'failure' : 'success'),
        reason: f.reason,
        user_id: f.userId,
        session_id: f.sessionId,
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
