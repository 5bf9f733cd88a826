/**
 * A Redis master, one replica and three Sentinels on loopback ports, for the
 * failover tests, configured as `meridian cluster --ha` configures them
 * (src/devcluster/failover.ts): a master counts as down after a second, not
 * the default 30 s.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { writeSentinelConf } from '../src/devcluster/failover.js';
import { eventually, freePort } from './helpers.js';
import { type RedisServer, startRedisServer } from './redis-server.js';

export const MASTER_NAME = 'meridian';
const SENTINELS = 3;
const QUORUM = 2;

export interface SentinelSet {
  /** `redis+sentinel://127.0.0.1:s1,127.0.0.1:s2,127.0.0.1:s3/meridian` */
  url: string;
  /** The servers, master first, as started. */
  servers: RedisServer[];
  /** The port the Sentinels give as the master's now. */
  masterPort(): Promise<number>;
  /** Waits until the Sentinels name another master than the one on `oldPort`. */
  failedOver(oldPort: number, ms?: number): Promise<number>;
  close(): Promise<void>;
}

export async function startSentinelSet(): Promise<SentinelSet> {
  const dir = mkdtempSync(join(tmpdir(), 'meridian-sentinel-'));
  // A replica stores the copy it syncs: in the set's directory, not the working one.
  const master = await startRedisServer(['--dir', dir]);
  const replica = await startRedisServer(['--dir', dir, '--replicaof', '127.0.0.1', String(master.port)]);
  const sentinels: { port: number; proc: ChildProcess }[] = [];
  for (let i = 0; i < SENTINELS; i++) {
    const port = await freePort();
    const conf = join(dir, `sentinel-${i}.conf`);
    writeSentinelConf(conf, { host: '127.0.0.1', masterPort: master.port, masterName: MASTER_NAME, dir }, port, QUORUM);
    sentinels.push({ port, proc: spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' }) });
  }
  /** One SENTINEL command to the Sentinel on `port`; undefined when it does not answer. */
  const sentinel = async <T>(port: number, ...args: string[]): Promise<T | undefined> => {
    const s = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    s.on('error', () => {});
    try {
      await s.connect();
      return (await s.call('SENTINEL', ...args)) as T;
    } catch {
      return undefined;
    } finally {
      s.disconnect();
    }
  };
  const ask = async (port: number) => {
    const addr = await sentinel<[string, string] | null>(port, 'get-master-addr-by-name', MASTER_NAME);
    return addr ? Number(addr[1]) : undefined;
  };
  const set: SentinelSet = {
    url: `redis+sentinel://${sentinels.map((s) => `127.0.0.1:${s.port}`).join(',')}/${MASTER_NAME}`,
    servers: [master, replica],
    async masterPort() {
      const port = await ask(sentinels[0]!.port);
      if (port === undefined) throw new Error('the Sentinels name no master');
      return port;
    },
    async failedOver(oldPort, ms = 30_000) {
      // Every Sentinel, not just one, names the new master: clients may ask any of them.
      return eventually(
        async () => {
          const ports = await Promise.all(sentinels.map((s) => ask(s.port)));
          return ports.every((p) => p !== undefined && p !== oldPort && p === ports[0]) && ports[0];
        },
        ms,
        'the Sentinels to promote the replica',
        100,
      );
    },
    async close() {
      await Promise.all(
        sentinels.map(
          (s) =>
            new Promise<void>((resolve) => {
              if (s.proc.exitCode !== null || s.proc.signalCode !== null) return resolve();
              s.proc.once('exit', () => resolve());
              s.proc.kill('SIGKILL');
            }),
        ),
      );
      await Promise.all([master.close(), replica.close()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await eventually(
      async () => (await replica.client.info('replication')).includes('master_link_status:up'),
      10_000,
      'the replica to sync with the master',
      50,
    );
    // Each Sentinel has found the replica and the others (it learns them through the master).
    await eventually(
      async () => {
        const seen = await Promise.all(
          sentinels.map(async (s) => {
            const info = await sentinel<string[]>(s.port, 'master', MASTER_NAME);
            const field = (k: string) => Number(info?.[info.indexOf(k) + 1]);
            return !!info && field('num-slaves') >= 1 && field('num-other-sentinels') >= SENTINELS - 1;
          }),
        );
        return seen.every(Boolean);
      },
      20_000,
      'the Sentinels to know the replica and each other',
      100,
    );
    return set;
  } catch (err) {
    await set.close();
    throw err;
  }
}
