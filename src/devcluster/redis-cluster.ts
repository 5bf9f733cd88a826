import { execFile } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { promisify } from 'node:util';
import { freePort } from './ports.js';
import type { ProcessSpec } from './processes.js';

/**
 * A Redis Cluster of redis-server processes on loopback ports: three masters
 * and a replica of each, formed with `redis-cli --cluster create`. Used by
 * `meridian cluster --redis-cluster` and by the tests that need a real
 * cluster. It is a cache and queue for a local cluster: nothing persists, and
 * its directory is made anew at every start.
 */

export const REDIS_CLUSTER_NODES = 6;
/** A node counts as failed after a second, so a killed master's replica takes over within a few seconds. */
const NODE_TIMEOUT_MS = 1000;

export interface RedisClusterPlan {
  host: string;
  dir: string;
  nodes: { port: number; busPort: number }[];
}

export async function planRedisCluster(host: string, dir: string, nodes = REDIS_CLUSTER_NODES): Promise<RedisClusterPlan> {
  const planned: RedisClusterPlan['nodes'] = [];
  // The bus port is given, not derived (+10000), so a high free port cannot overflow it.
  for (let i = 0; i < nodes; i++) planned.push({ port: await freePort(host), busPort: await freePort(host) });
  return { host, dir, nodes: planned };
}

/** `redis+cluster://host:p1,host:p2,...`, every node, as REDIS_URL takes it. */
export const redisClusterUrl = (c: RedisClusterPlan) => `redis+cluster://${c.nodes.map((n) => `${c.host}:${n.port}`).join(',')}`;

/** The arguments of node `i` after `--port`, `--bind` and the rest a plain redis-server gets. */
export function clusterNodeArgs(c: RedisClusterPlan, i: number): string[] {
  const node = c.nodes[i];
  if (!node) throw new RangeError(`no node ${i} in a cluster of ${c.nodes.length}`);
  return [
    ...['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${i}.conf`, '--cluster-port', String(node.busPort)],
    '--cluster-node-timeout',
    String(NODE_TIMEOUT_MS),
    // A replica that lost its master takes over however old its last contact: the cache is never the truth.
    ...['--cluster-replica-validity-factor', '0'],
    // BullMQ's queues live here too: Redis must refuse a write rather than evict a job.
    ...['--maxmemory-policy', 'noeviction'],
  ];
}

/** The nodes as processes, in a directory emptied first (a node's config file from an earlier run would name a cluster that is gone). */
export function redisClusterProcesses(c: RedisClusterPlan, prefix: string, env: NodeJS.ProcessEnv): ProcessSpec[] {
  rmSync(c.dir, { recursive: true, force: true });
  mkdirSync(c.dir, { recursive: true });
  return c.nodes.map((n, i) => ({
    name: `${prefix}redis-${i}`,
    command: 'redis-server',
    args: ['--port', String(n.port), '--bind', c.host, '--save', '', '--appendonly', 'no', '--dir', c.dir, ...clusterNodeArgs(c, i)],
    env,
  }));
}

const run = promisify(execFile);

/**
 * Joins the running nodes into one cluster (the first half masters, a replica
 * each) and resolves once every node reports `cluster_state:ok` and every
 * replica is in sync, so the first client sees the whole cluster.
 */
export async function formRedisCluster(c: RedisClusterPlan, timeoutMs = 20_000): Promise<void> {
  const addresses = c.nodes.map((n) => `${c.host}:${n.port}`);
  await run('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-replicas', '1', '--cluster-yes']);
  const cli = async (port: number, ...args: string[]) => (await run('redis-cli', ['-h', c.host, '-p', String(port), ...args])).stdout;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const states = await Promise.all(
      c.nodes.map(async (n) => {
        const [info, replication] = await Promise.all([cli(n.port, 'CLUSTER', 'INFO'), cli(n.port, 'INFO', 'replication')]);
        return info.includes('cluster_state:ok') && (!replication.includes('role:slave') || replication.includes('master_link_status:up'));
      }),
    );
    if (states.every(Boolean)) return;
    if (Date.now() > deadline) throw new Error(`the Redis Cluster on ${addresses.join(', ')} did not form within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
