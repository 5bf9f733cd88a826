/** A refusal from Meridian, with its stable API code (`invalid_grant`, `rate_limited`, ...). */
export class MeridianError extends Error {
  override readonly name: string = 'MeridianError';
  constructor(
    readonly code: string,
    readonly status: number,
    description?: string,
  ) {
    super(description ? `${code}: ${description}` : code);
  }
}

/**
 * There is no session to act for: never logged in or logged out here
 * (`not_logged_in`), or ended by the server (`session_revoked`: logout
 * elsewhere, revocation, reuse detection, expiry). Log in again.
 */
export class SessionEndedError extends MeridianError {
  override readonly name = 'SessionEndedError';
  constructor(code: 'not_logged_in' | 'session_revoked') {
    super(code, 401, code === 'session_revoked' ? 'the session has ended; log in again' : 'not logged in');
  }
}

/** Reads an API error body (`{"error","error_description"}`) into a MeridianError. */
export async function errorFrom(res: Response): Promise<MeridianError> {
  const body = (await res.json().catch(() => null)) as { error?: unknown; error_description?: unknown } | null;
  const code = typeof body?.error === 'string' ? body.error : `http_${res.status}`;
  return new MeridianError(code, res.status, typeof body?.error_description === 'string' ? body.error_description : undefined);
}
