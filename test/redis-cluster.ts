/**
 * A Redis Cluster of six redis-server processes on loopback ports, three
 * masters and a replica of each, made with `redis-cli --cluster create`. A
 * node counts as failed after a second (cluster-node-timeout), so a killed
 * master's replica takes over within a few seconds.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { eventually, freePort } from './helpers.js';
import { type RedisServer, startRedisServer } from './redis-server.js';

const NODES = 6;
const NODE_TIMEOUT_MS = 1000;

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
  const servers: RedisServer[] = [];
  for (let i = 0; i < NODES; i++) {
    const args = ['--dir', dir, '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${i}.conf`];
    // The bus port is given, not derived (+10000), so a high free port cannot overflow it.
    args.push('--cluster-node-timeout', String(NODE_TIMEOUT_MS), '--cluster-port', String(await freePort()), '--maxmemory-policy', 'noeviction');
    // A replica that lost its master takes over however old its last contact: the cache is never the truth.
    args.push('--cluster-replica-validity-factor', '0');
    servers.push(await startRedisServer(args));
  }
  const alive = new Set(servers);
  await promisify(execFile)('redis-cli', ['--cluster', 'create', ...servers.map((s) => `127.0.0.1:${s.port}`), '--cluster-replicas', '1', '--cluster-yes']);
  const live = () => [...alive][0]!;
  const nodes = async () => parseNodes((await live().client.call('CLUSTER', 'NODES')) as string);
  const whole = async () => {
    for (const s of alive) if (!/cluster_state:ok/.test((await s.client.call('CLUSTER', 'INFO')) as string)) return false;
    return true;
  };
  await eventually(whole, 20_000, 'the cluster to be formed on every node');
  const synced = async () => {
    for (const s of servers) {
      const info = await s.client.info('replication');
      if (info.includes('role:slave') && !info.includes('master_link_status:up')) return false;
    }
    return true;
  };
  await eventually(synced, 20_000, 'every replica in sync with its master');
  return {
    url: `redis+cluster://${servers.map((s) => `127.0.0.1:${s.port}`).join(',')}`,
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
