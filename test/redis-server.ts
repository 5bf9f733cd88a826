/**
 * A private redis-server on a free loopback port, for tests that flush,
 * restart, stop or fill Redis: the shared Redis on 6379 is never touched.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { eventually, freePort } from './helpers.js';

export interface RedisServer {
  url: string;
  port: number;
  /** A client for the test's own commands (FLUSHALL, DEL, TTL...). */
  client: Redis;
  /** Stops the server (SIGKILL: nothing is saved) and waits until it is gone. */
  stop(): Promise<void>;
  /** Starts it again, empty, on the same port. */
  start(): Promise<void>;
  /** Freezes the server (SIGSTOP): connections stay open, nothing answers. */
  pause(): void;
  resume(): void;
  close(): Promise<void>;
}

export async function startRedisServer(args: string[] = [], port?: number): Promise<RedisServer> {
  port ??= await freePort();
  let proc: ChildProcess | undefined;
  const launch = async () => {
    proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...args], { stdio: 'ignore' });
    const probe = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => {});
    await eventually(
      async () => {
        try {
          await probe.connect();
          await probe.ping();
          return true;
        } catch {
          return false;
        }
      },
      5000,
      `redis-server to start on port ${port}`,
      25,
    );
    probe.disconnect();
  };
  await launch();
  const client = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 1 });
  client.on('error', () => {});
  const stop = async () => {
    const p = proc;
    proc = undefined;
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill('SIGKILL');
    });
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    client,
    stop,
    start: launch,
    pause: () => proc?.kill('SIGSTOP'),
    resume: () => proc?.kill('SIGCONT'),
    async close() {
      client.disconnect();
      await stop();
    },
  };
}

/** A key prefix unique to one test run, for tests on the shared Redis. */
export function testPrefix(name: string): string {
  return `test-${name}-${randomBytes(4).toString('hex')}`;
}
