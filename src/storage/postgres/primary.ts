import pg from 'pg';
import { listedHosts, parseServiceUrl } from '../../config/service-url.js';

/**
 * Finding the writable node of a PostgreSQL pair (pg_auto_failover, Patroni,
 * a managed service with a standby) from a libpq-style multi-host URL:
 *
 *   postgres://user@10.0.0.1:5432,10.0.0.2:5432/meridian?target_session_attrs=read-write
 *
 * node-postgres connects to one host only. Rather than a second client
 * library for one feature, the pool is kept on node-postgres and pointed at
 * the node that answers `transaction_read_only = off`, the very test libpq's
 * read-write targeting makes. pg_auto_failover keeps a standby that is being
 * promoted read-only until the monitor confirms it, so this test, not
 * pg_is_in_recovery(), is what tells a node that may take writes.
 */

/** How long a node may take to answer the read-write probe before it counts as down. */
const PROBE_TIMEOUT_MS = 1000;

export interface NodeAddress {
  host: string;
  port: number;
}

export interface MultiHostUrl {
  nodes: NodeAddress[];
  /** The single-host URL of one node: everything but the hosts, as written. */
  urlFor(node: NodeAddress): string;
}

/** True for a URL that names more than one host (`h1:p1,h2:p2`). */
export function isMultiHostUrl(url: string): boolean {
  return listedHosts(url).length > 1;
}

/**
 * Splits a multi-host URL into its nodes. The default port is 5432, as in
 * libpq. `target_session_attrs` is consumed here: only `read-write` and
 * `primary`, what this resolver does, are accepted.
 */
export function parseMultiHostUrl(url: string): MultiHostUrl {
  const first = parseServiceUrl(url);
  if (!first) throw new Error('the database URL is not a URL');
  const attrs = first.searchParams.get('target_session_attrs');
  if (attrs !== null && attrs !== 'read-write' && attrs !== 'primary') {
    throw new Error(`target_session_attrs=${attrs} is not supported: Meridian writes, so it needs read-write`);
  }
  first.searchParams.delete('target_session_attrs');
  return {
    nodes: listedHosts(url).map((h) => ({ host: h.host, port: h.port ?? 5432 })),
    urlFor: (n) => {
      const u = new URL(first);
      u.host = `${n.host.includes(':') ? `[${n.host}]` : n.host}:${n.port}`;
      return u.toString();
    },
  };
}

/** True when `url`'s node takes writes now; false when it is read-only or cannot be reached. */
async function acceptsWrites(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: PROBE_TIMEOUT_MS, query_timeout: PROBE_TIMEOUT_MS });
  client.on('error', () => {});
  try {
    await client.connect();
    const { rows } = await client.query<{ transaction_read_only: string }>('SHOW transaction_read_only');
    return rows[0]?.transaction_read_only === 'off';
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * The first node, in the order the URL lists them, that takes writes; every
 * node is asked at once so that a dead one costs one probe timeout, not one
 * per node. Undefined while none does (a failover in progress).
 */
export async function findPrimary(target: MultiHostUrl): Promise<NodeAddress | undefined> {
  const answers = await Promise.all(target.nodes.map((n) => acceptsWrites(target.urlFor(n))));
  return target.nodes[answers.indexOf(true)];
}
