import { AppError } from '../errors.js';

/**
 * The one reading of a request target that the gateway both checks and
 * forwards. Only origin-form is accepted (RFC 9112 §3.2.1: a path starting
 * with a single "/", then an optional query): an absolute-form, authority-form
 * or asterisk-form target, or one starting "//", names a host, and the
 * gateway connects only to the regions of its topology.
 *
 * The path is normalised once: an escaped unreserved character ("%2e",
 * "%7E") is decoded, other escapes are kept with upper-case hex, and dot
 * segments are removed (RFC 3986 §6.2.2, §5.2.4). Decoding is a single pass,
 * so "%252e" stays "%252e". What routers disagree on is refused rather than
 * guessed: an escaped "/" or "\" (%2F, %5C), a raw "\", an empty segment
 * ("//"), a broken escape, and any character RFC 3986 does not allow in a
 * path. The query is passed on as the client wrote it, without "#" or
 * characters outside printable ASCII.
 */

export interface RequestTarget {
  /** Normalised path: starts with one "/", no dot segments, no empty segments. */
  readonly path: string;
  /** "?" and the query as sent, or "" when there is none. */
  readonly query: string;
}

// pchar and "/" (RFC 3986 §3.3), with "%" whose escapes are checked apart.
const PATH_CHARS = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*$/;
const QUERY_CHARS = /^[\x21-\x22\x24-\x7e]*$/;
const ESCAPE = /%([0-9A-Fa-f]{2})/g;
const BROKEN_ESCAPE = /%(?![0-9A-Fa-f]{2})/;
const UNRESERVED = /^[A-Za-z0-9\-._~]$/;
const SEPARATORS = new Set(['/', '\\']);

const invalid = (description: string, reason: string) => new AppError('invalid_request', { description, reason });

/** The answer to a target that is not a path: absolute-form, authority-form (CONNECT), "*" or "//host". */
export const notOriginForm = () => invalid('The request target must be a path that starts with a single "/".', 'request target not in origin-form');

/** The target of `rawUrl` (Node's `req.url`); throws an `invalid_request` AppError to answer with. */
export function parseRequestTarget(rawUrl: string): RequestTarget {
  if (!rawUrl.startsWith('/') || rawUrl.startsWith('//')) throw notOriginForm();
  const mark = rawUrl.indexOf('?');
  const rawPath = mark === -1 ? rawUrl : rawUrl.slice(0, mark);
  const query = mark === -1 ? '' : rawUrl.slice(mark);
  if (!QUERY_CHARS.test(query.slice(1))) throw invalid('The query has a character that is not accepted.', 'query character');
  return { path: normalisePath(rawPath), query };
}

/** Routes between regions, secret or not, that the public side never reaches. */
export function isInternalPath(path: string): boolean {
  const lower = path.toLowerCase();
  return lower === '/internal' || lower.startsWith('/internal/');
}

function normalisePath(rawPath: string): string {
  const refused = () => invalid('The request path has a character or escape that is not accepted.', 'path character or escape');
  if (!PATH_CHARS.test(rawPath) || BROKEN_ESCAPE.test(rawPath)) throw refused();
  let separator = false;
  const decoded = rawPath.replace(ESCAPE, (_escape, hex: string) => {
    const char = String.fromCharCode(Number.parseInt(hex, 16));
    if (SEPARATORS.has(char)) separator = true;
    return UNRESERVED.test(char) ? char : `%${hex.toUpperCase()}`;
  });
  if (separator || decoded.includes('//')) throw refused();
  return removeDotSegments(decoded);
}

/** RFC 3986 §5.2.4 for an absolute path without empty segments: "." goes, ".." takes the segment before it. */
function removeDotSegments(path: string): string {
  const segments = path.slice(1).split('/');
  const out: string[] = [];
  segments.forEach((segment, i) => {
    if (segment === '..') out.pop();
    else if (segment !== '.') out.push(segment);
    // A path ending in "." or ".." names a directory: keep the trailing "/".
    if ((segment === '.' || segment === '..') && i === segments.length - 1) out.push('');
  });
  return `/${out.join('/')}`;
}
