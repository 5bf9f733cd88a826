import type { RedisOptions } from 'ioredis';
import { listedHosts, parseServiceUrl } from '../../config/service-url.js';

const SENTINEL_PORT = 26379;
const REDIS_PORT = 6379;

/**
 * How to reach the region's Redis from REDIS_URL: `redis://` and `rediss://`
 * name the server itself; `redis+sentinel://[user:password@]s1:26379,s2:26379/<master name>[?db=N]`
 * names the Sentinels that watch it, and ioredis asks them which server is
 * the master, again after every disconnect. The user and password are the
 * master's; `sentinel_password` in the query is the Sentinels' own, when
 * they require one. `redis+cluster://[user:password@]h1:6379,h2:6379` names
 * some nodes of a Redis Cluster (any will do: ioredis learns the rest and the
 * slot map from them).
 */
export type RedisTarget =
  | { kind: 'direct'; url: string }
  | { kind: 'sentinel'; options: RedisOptions }
  | { kind: 'cluster'; nodes: { host: string; port: number }[]; options: RedisOptions };

export function redisTarget(url: string): RedisTarget {
  if (url.startsWith('redis+cluster:')) return clusterTarget(url);
  if (!url.startsWith('redis+sentinel:')) return { kind: 'direct', url };
  const u = parseServiceUrl(url);
  const name = u && decodeURIComponent(u.pathname.replace(/^\/+|\/+$/g, ''));
  if (!u || !name) throw new Error('REDIS_URL redis+sentinel:// must end with the master name, as in redis+sentinel://s1:26379,s2:26379/mymaster');
  const db = u.searchParams.get('db');
  return {
    kind: 'sentinel',
    options: {
      sentinels: listedHosts(url).map((h) => ({ host: h.host, port: h.port ?? SENTINEL_PORT })),
      name,
      ...credentials(u),
      sentinelPassword: u.searchParams.get('sentinel_password') ?? undefined,
      db: db ? Number(db) : undefined,
      // No failoverDetector: its +switch-master can arrive while a reconnect asks the Sentinels, and ioredis
      // then ends the connection for good. Reconnecting after the master's loss finds the new one anyway.
      // A connection that still reaches a demoted master (now a replica) is made again, to the master.
      reconnectOnError: (err) => err.message.startsWith('READONLY'),
      sentinelRetryStrategy: (times) => Math.min(100 * times, 1000),
    },
  };
}

function clusterTarget(url: string): RedisTarget {
  const u = parseServiceUrl(url);
  if (!u?.hostname) throw new Error('REDIS_URL redis+cluster:// must list nodes, as in redis+cluster://h1:6379,h2:6379');
  // A cluster has one database: a path would promise a db it cannot select.
  if (u.pathname.replace(/\/+/g, '') !== '') throw new Error('REDIS_URL redis+cluster:// takes no database: a Redis Cluster has only db 0');
  return { kind: 'cluster', nodes: listedHosts(url).map((h) => ({ host: h.host, port: h.port ?? REDIS_PORT })), options: credentials(u) };
}

function credentials(u: URL): Pick<RedisOptions, 'username' | 'password'> {
  return {
    username: u.username ? decodeURIComponent(u.username) : undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
  };
}
