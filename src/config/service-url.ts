/**
 * URLs of services that run as several nodes list them all in the authority,
 * comma-separated: libpq's multi-host form for PostgreSQL
 * (`postgres://h1:5432,h2:5432/db`) and Redis Sentinel's
 * (`redis+sentinel://s1:26379,s2:26379/mymaster`). WHATWG URL parsing takes
 * one host only, so validation reads the first and checks the rest's syntax.
 */
/** The schemes REDIS_URL and a topology's redisUrl take (src/storage/redis/target.ts reads them; `unix:///path` is a socket). */
export const REDIS_SCHEMES = ['redis', 'rediss', 'redis+sentinel', 'redis+cluster', 'unix'] as const;
/** The schemes DATABASE_URL and a topology's databaseUrl take. */
export const POSTGRES_SCHEMES = ['postgres', 'postgresql'] as const;

/**
 * Whether `raw` begins with one of `schemes`, written in lower case: the code
 * that acts on a URL compares its scheme as written, so `POSTGRES://` would
 * be taken for something else (the embedded database), never refused.
 */
export const hasScheme = (raw: string, schemes: readonly string[]) => schemes.some((s) => raw.startsWith(`${s}:`));

const AUTHORITY = /^([a-z][a-z0-9+.-]*:\/\/(?:[^@/?#]*@)?)([^/?#]*)/i;
const HOST_PORT = /^(\[[0-9a-f:.]+\]|[^\s:,[\]]+)(:\d{1,5})?$/i;

/** `raw` as a URL read with its first host only; undefined when it is no URL or a listed host is malformed. */
export function parseServiceUrl(raw: string): URL | undefined {
  const m = AUTHORITY.exec(raw);
  if (!m) return URL.canParse(raw) ? new URL(raw) : undefined;
  const hosts = m[2]!.split(',');
  if (hosts.length > 1 && !hosts.every((h) => HOST_PORT.test(h))) return undefined;
  const single = m[1]! + hosts[0]! + raw.slice(m[0].length);
  return URL.canParse(single) ? new URL(single) : undefined;
}

/** The `host:port` entries of a URL's authority (one or more). */
export function listedHosts(raw: string): { host: string; port: number | undefined }[] {
  const m = AUTHORITY.exec(raw);
  if (!m) return [];
  return m[2]!.split(',').map((entry) => {
    const hp = HOST_PORT.exec(entry);
    return { host: (hp?.[1] ?? entry).replace(/^\[|\]$/g, ''), port: hp?.[2] ? Number(hp[2].slice(1)) : undefined };
  });
}
