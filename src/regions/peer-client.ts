import { AppError, type ErrorCode, ERRORS, misconfigured, unavailable } from '../errors.js';
import type { Topology } from './topology.js';

/**
 * The one way a region calls another: JSON over HTTP with a short deadline.
 * Internal routes (/internal/v1/*) carry the shared region secret as a bearer
 * token. A region that does not answer in time, or answers with something
 * that is not a Meridian answer, is "unreachable": the caller gets a 503
 * temporarily_unavailable AppError with Retry-After, never a guess.
 */

export type CallOutcome = 'ok' | 'refused' | 'unreachable';

export interface PeerClientOptions {
  topology: Topology;
  /** This region's id, sent as X-Meridian-From. */
  self: string;
  secret: string;
  timeoutMs: number;
  /** Seconds a client should wait before retrying when a region is unreachable. */
  retryAfterSeconds?: number;
  /** Observes every call (metrics). */
  onCall?: (region: string, operation: string, outcome: CallOutcome) => void;
}

export interface PeerRequest {
  /** A short name for metrics and logs: refresh, login, claim, lookup, keys. */
  operation: string;
  method?: 'GET' | 'POST';
  body?: unknown;
  /** Sends the region secret; for /internal/v1 routes. */
  internal?: boolean;
  requestId?: string | undefined;
}

export interface PeerResponse<T = unknown> {
  status: number;
  body: T;
  /** The Retry-After header, seconds, when the answer had one. */
  retryAfter: number | undefined;
}

/** Error codes another region may answer with that mean the same here; anything else means it cannot be trusted now. */
const PASSED_THROUGH: ReadonlySet<ErrorCode> = new Set([
  'invalid_request',
  'weak_password',
  'invalid_grant',
  'invalid_dpop_proof',
  'username_taken',
  'rate_limited',
  'temporarily_unavailable',
]);

export class PeerClient {
  private readonly urls: ReadonlyMap<string, string>;

  constructor(private readonly opts: PeerClientOptions) {
    this.urls = new Map(opts.topology.regions.map((r) => [r.id, r.url]));
  }

  /** This region's id. */
  get self(): string {
    return this.opts.self;
  }

  knows(region: string): boolean {
    return this.urls.has(region);
  }

  /**
   * Calls `path` on `region` and returns its status and JSON body. Throws a
   * 503 AppError when the region is unreachable, too slow, answers with
   * anything but JSON, or is not in this region's topology.
   */
  async request<T = unknown>(region: string, path: string, req: PeerRequest): Promise<PeerResponse<T>> {
    const base = this.urls.get(region);
    if (!base) {
      // Named by data of the regions (the directory's home region of a user, a session's origin), so the
      // regions' topology files disagree. The user may well exist: not invalid_grant, but 503 until an
      // operator puts the region back in this topology or moves its users, since no region can serve them.
      this.opts.onCall?.(region, req.operation, 'unreachable');
      throw misconfigured(`region ${region} is not in the topology`);
    }
    const headers: Record<string, string> = { accept: 'application/json', 'x-meridian-from': this.opts.self };
    if (req.body !== undefined) headers['content-type'] = 'application/json';
    if (req.internal) headers.authorization = `Bearer ${this.opts.secret}`;
    if (req.requestId) headers['x-request-id'] = req.requestId;
    try {
      const res = await fetch(`${base}${path}`, {
        method: req.method ?? (req.body === undefined ? 'GET' : 'POST'),
        headers,
        body: req.body === undefined ? undefined : JSON.stringify(req.body),
        // Covers connecting, the answer and reading its body.
        signal: AbortSignal.timeout(this.opts.timeoutMs),
        redirect: 'error',
      });
      const text = await res.text();
      const body = text === '' ? null : (JSON.parse(text) as T);
      // A crash there is no answer to pass on (a 503 is: it says why and when to retry).
      if (res.status >= 500 && res.status !== 503) throw new Error(`${req.operation} answered ${res.status}`);
      this.opts.onCall?.(region, req.operation, res.ok ? 'ok' : 'refused');
      const retryAfter = Number(res.headers.get('retry-after')) || undefined;
      return { status: res.status, body: body as T, retryAfter };
    } catch (err) {
      this.opts.onCall?.(region, req.operation, 'unreachable');
      throw unavailable(`region ${region}`, err, this.opts.retryAfterSeconds ?? 5);
    }
  }

  /**
   * The AppError another region's error answer stands for, so the client sees
   * the same code (and Retry-After) as if it had asked that region directly.
   * An answer outside the API's error set means the region is not answering
   * properly (a wrong region secret, say): 503.
   */
  answerError(region: string, res: PeerResponse): AppError {
    const body = res.body as { error?: unknown; error_description?: unknown } | null;
    const code = body?.error;
    if (typeof code === 'string' && PASSED_THROUGH.has(code as ErrorCode) && ERRORS[code as ErrorCode].status === res.status) {
      return new AppError(code as ErrorCode, {
        description: typeof body?.error_description === 'string' ? body.error_description : undefined,
        retryAfter: res.retryAfter ?? (code === 'temporarily_unavailable' || code === 'rate_limited' ? 5 : undefined),
        reason: `answered by region ${region}`,
        servedBy: region,
      });
    }
    return unavailable(
      `region ${region}`,
      new Error(`unexpected answer ${res.status} ${typeof code === 'string' ? code : ''}`),
      this.opts.retryAfterSeconds ?? 5,
    );
  }
}
