/**
 * The Redis Cluster of src/devcluster/redis-cluster.ts (three masters, a
 * replica each, a second to fail over) with a client per node, for tests that
 * kill masters and watch promotions.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clusterNodeArgs, formRedisCluster, planRedisCluster, redisClusterUrl } from '../src/devcluster/redis-cluster.js';
import { eventually } from './helpers.js';
import { type RedisServer, startRedisServer } from './redis-server.js';

export interface RedisClusterSet {
  /** `redis+cluster://127.0.0.1:p1,...` (every node) */
  url: string;
  servers: RedisServer[];
  /** The ports of the nodes that are masters now, as a live node sees them. */
  masters(): Promise<number[]>;
  /** The port of the replica of the master on `port`. */
  replicaOf(port: number): Promise<number>;
  /** After the master on `killed` is gone: waits until `replica` is a master and every live node says the cluster is ok. */
  promoted(killed: number, replica: number, ms?: number): Promise<true>;
  close(): Promise<void>;
}

interface NodeLine {
  id: string;
  port: number;
  master: boolean;
  failed: boolean;
  masterId: string;
}

function parseNodes(text: string): NodeLine[] {
  return text
    .trim()
    .split('\n')
    .map((line) => {
      const [id, addr, flags, masterId] = line.split(' ');
      return {
        id: id!,
        port: Number(/:(\d+)@/.exec(addr!)?.[1]),
        master: flags!.includes('master'),
        failed: flags!.includes('fail'),
        masterId: masterId!,
      };
    });
}

export async function startRedisCluster(): Promise<RedisClusterSet> {
  const dir = mkdtempSync(join(tmpdir(), 'meridian-rcluster-'));
  const plan = await planRedisCluster('127.0.0.1', dir);
  const servers: RedisServer[] = [];
  for (const [i, node] of plan.nodes.entries()) servers.push(await startRedisServer(['--dir', dir, ...clusterNodeArgs(plan, i)], node.port));
  await formRedisCluster(plan);
  const alive = new Set(servers);
  const live = () => [...alive][0]!;
  const nodes = async () => parseNodes((await live().client.call('CLUSTER', 'NODES')) as string);
  const whole = async () => {
    for (const s of alive) if (!/cluster_state:ok/.test((await s.client.call('CLUSTER', 'INFO')) as string)) return false;
    return true;
  };
  return {
    url: redisClusterUrl(plan),
    servers,
    masters: async () => (await nodes()).filter((n) => n.master && !n.failed).map((n) => n.port),
    async replicaOf(port) {
      const all = await nodes();
      const master = all.find((n) => n.port === port);
      const replica = all.find((n) => n.masterId === master?.id);
      if (!replica) throw new Error(`no master with a replica on port ${port}`);
      return replica.port;
    },
    promoted(killed, replica, ms = 30_000) {
      const gone = servers.find((s) => s.port === killed);
      if (gone) alive.delete(gone);
      return eventually(
        async () => (await whole()) && (await nodes()).some((n) => n.port === replica && n.master && !n.failed),
        ms,
        `the replica on ${replica} to be promoted`,
        100,
      );
    },
    async close() {
      await Promise.all(servers.map((s) => s.close()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
