/**
 * The one registry of error codes. Domain code throws `AppError` with a stable
 * code, a safe public message and, optionally, a private cause for the logs;
 * the HTTP error handler is the only place that turns it into a response.
 */

export const ERRORS = {
  invalid_request: { status: 400, message: 'The request is malformed.' },
  weak_password: { status: 400, message: 'The password does not meet the password policy.' },
  invalid_grant: { status: 400, message: 'The credentials or refresh token are invalid, expired or revoked.' },
  unsupported_grant_type: { status: 400, message: 'The grant type is not supported.' },
  invalid_dpop_proof: { status: 400, message: 'The DPoP proof is missing, malformed, replayed or does not match.' },
  use_dpop_nonce: { status: 400, message: 'A DPoP nonce is required.' },
  invalid_scope: { status: 400, message: 'Scopes are not supported; omit the scope parameter.' },
  invalid_client: { status: 401, message: 'Client authentication failed.' },
  invalid_token: { status: 401, message: 'The access token is missing, invalid, expired or revoked.' },
  not_found: { status: 404, message: 'Not found.' },
  method_not_allowed: { status: 405, message: 'Method not allowed.' },
  username_taken: { status: 409, message: 'That username is not available.' },
  payload_too_large: { status: 413, message: 'The request body is too large.' },
  unsupported_media_type: { status: 415, message: 'The content type is not supported by this endpoint.' },
  rate_limited: { status: 429, message: 'Too many attempts; try again later.' },
  server_error: { status: 500, message: 'An unexpected error occurred.' },
  temporarily_unavailable: { status: 503, message: 'The service is temporarily unavailable; try again later.' },
} as const;

export type ErrorCode = keyof typeof ERRORS;

export interface AppErrorOptions {
  /** Safe, human-readable detail that replaces the default message. */
  description?: string;
  /** Private cause, logged and never sent to the client. */
  cause?: unknown;
  /** Seconds for the Retry-After header (429 and 503). */
  retryAfter?: number;
  /** Machine-readable detail kept for logs and audit (e.g. which check failed). */
  reason?: string;
  /** The region whose answer this error passes on, when another region gave it. */
  servedBy?: string;
  /** Replaces the code's status: a protected resource answers DPoP failures with 401 (RFC 9449 §7.1). */
  status?: number;
  /** Response headers the error comes with (WWW-Authenticate challenges, DPoP-Nonce). */
  headers?: Readonly<Record<string, string>>;
}

export class AppError extends Error {
  override readonly name = 'AppError';
  readonly code: ErrorCode;
  readonly status: number;
  readonly description: string;
  readonly retryAfter: number | undefined;
  readonly reason: string | undefined;
  readonly servedBy: string | undefined;
  readonly headers: Readonly<Record<string, string>>;

  constructor(code: ErrorCode, options: AppErrorOptions = {}) {
    const description = options.description ?? ERRORS[code].message;
    super(`${code}: ${options.reason ?? description}`, { cause: options.cause });
    this.code = code;
    this.status = options.status ?? ERRORS[code].status;
    this.description = description;
    this.retryAfter = options.retryAfter;
    this.reason = options.reason;
    this.servedBy = options.servedBy;
    this.headers = options.headers ?? {};
  }
}

export function isAppError(err: unknown, code?: ErrorCode): err is AppError {
  return err instanceof AppError && (code === undefined || err.code === code);
}

/** A dependency (database, cache, peer region) could not be reached. */
export function unavailable(dependency: string, cause: unknown, retryAfter = 5): AppError {
  return new AppError('temporarily_unavailable', { cause, retryAfter, reason: `${dependency} unavailable` });
}

/**
 * Configuration an operator must fix (a region another one names but this
 * one's topology does not list, no usable signing key): 503 rather than a
 * 500, and never a guessed answer such as invalid_grant. Retry-After is long
 * because a retry within seconds will not find it fixed.
 */
export function misconfigured(problem: string, cause?: unknown, retryAfter = 60): AppError {
  return new AppError('temporarily_unavailable', { cause, retryAfter, reason: `misconfigured: ${problem}` });
}
