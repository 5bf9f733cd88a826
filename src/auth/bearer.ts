/** RFC 6750 §2.1 `Authorization: Bearer <b64token>`. */
const BEARER = /^Bearer[ ]+([A-Za-z0-9\-._~+/]+=*)[ ]*$/i;

/** The bearer token in an Authorization header value, if it holds one. */
export function parseBearer(header: unknown): string | undefined {
  return typeof header === 'string' ? BEARER.exec(header)?.[1] : undefined;
}
