import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkpoint, failoverNodes, tuneFailoverMonitor } from '../storage/storage.js';
import { freePort } from './ports.js';
import type { ProcessSpec } from './processes.js';

/**
 * A region with no single point of failure on one machine, for `meridian
 * cluster --ha` and the failover tests: PostgreSQL as a primary and a
 * synchronous standby under a pg_auto_failover monitor, and Redis as a
 * master and a replica watched by three Sentinels. Timings are cut from the
 * production defaults (tens of seconds) to about a second, so a failover
 * takes seconds.
 */

/** Monitor settings (defaults: 5 s checks, 20 s until unhealthy, 30 s demote timeout). */
export const FAST_FAILOVER: Readonly<Record<string, number>> = {
  'pgautofailover.health_check_period': 1000,
  'pgautofailover.health_check_timeout': 1000,
  'pgautofailover.health_check_max_retries': 1,
  'pgautofailover.health_check_retry_delay': 500,
  'pgautofailover.node_considered_unhealthy_timeout': 2000,
  'pgautofailover.primary_demote_timeout': 2000,
  'pgautofailover.startup_grace_period': 1000,
};

export interface PairPlan {
  /** Owned by the postgres user when run as root: pg_autoctl refuses to run as root. */
  dir: string;
  monitorPort: number;
  nodePorts: readonly [number, number];
  database: string;
  host: string;
}

/** Both nodes in one URL, for Meridian: writes go to whichever is primary. */
export const pairUrl = (p: PairPlan) =>
  `postgres://postgres@${p.nodePorts.map((port) => `${p.host}:${port}`).join(',')}/${p.database}?target_session_attrs=read-write`;
const monitorUrl = (p: PairPlan, user = 'autoctl_node') => `postgres://${user}@${p.host}:${p.monitorPort}/pg_auto_failover?sslmode=disable`;
export const nodeName = (i: number) => `node_${'ab'[i]}`;
/** The monitor's own database, as the postgres user: its pgautofailover.node table says which node is primary. */
export const monitorAdminUrl = (p: PairPlan) => monitorUrl(p, 'postgres');

const asRoot = () => process.getuid?.() === 0;

function pgBinDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  const found = versions.map((v) => `${root}/${v}/bin`).find((d) => existsSync(join(d, 'pg_ctl')));
  if (!found) throw new Error(`no PostgreSQL server binaries under ${root}`);
  return found;
}

/** False when pg_autoctl is installed, else what to install (Debian: postgresql-15-auto-failover, pg-auto-failover-cli). */
export function pgAutoFailoverMissing(): string | false {
  try {
    execFileSync('pg_autoctl', ['--version'], { stdio: 'ignore' });
    return false;
  } catch {
    return 'pg_autoctl is not installed (apt-get install postgresql-15-auto-failover pg-auto-failover-cli)';
  }
}

/** Makes the pair's directory, owned by the postgres user when this process is root. */
export function preparePairDir(dir: string): void {
  mkdirSync(dir, { recursive: true });
  if (!asRoot()) return;
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }));
  chownSync(dir, id('-u'), id('-g'));
}

function pgAutoctl(p: PairPlan, name: string, args: string[], env: NodeJS.ProcessEnv): ProcessSpec {
  // pg_autoctl keeps its state under XDG_*: inside the pair's directory, not the user's home.
  const argv = ['env', `PATH=${pgBinDir()}:/usr/bin:/bin`, `XDG_CONFIG_HOME=${p.dir}/config`, `XDG_DATA_HOME=${p.dir}/share`, 'pg_autoctl', ...args];
  argv.push('--hostname', p.host, '--auth', 'trust', '--no-ssl', '--run');
  return asRoot() ? { name, command: 'runuser', args: ['-u', 'postgres', '--', ...argv], env } : { name, command: argv[0]!, args: argv.slice(1), env };
}

/** The three pg_autoctl processes of a pair, monitor first. */
export function pairProcesses(p: PairPlan, prefix: string, env: NodeJS.ProcessEnv): { monitor: ProcessSpec; nodes: [ProcessSpec, ProcessSpec] } {
  const node = (i: number) =>
    pgAutoctl(
      p,
      `${prefix}${nodeName(i)}`,
      [
        'create',
        'postgres',
        '--pgdata',
        join(p.dir, nodeName(i)),
        '--pgport',
        String(p.nodePorts[i]),
        '--listen',
        p.host,
        '--name',
        nodeName(i),
        '--dbname',
        p.database,
        '--monitor',
        monitorUrl(p),
      ],
      env,
    );
  return {
    monitor: pgAutoctl(p, `${prefix}monitor`, ['create', 'monitor', '--pgdata', join(p.dir, 'monitor'), '--pgport', String(p.monitorPort)], env),
    nodes: [node(0), node(1)],
  };
}

export interface Launcher {
  start(spec: ProcessSpec): void;
  /** Throws when a started process has exited: waiting on it is pointless. */
  check(): void;
}

/**
 * Starts the monitor, then the first node, then the second, and resolves
 * once the second is a synchronous standby of the first.
 */
export async function startPair(p: PairPlan, prefix: string, launcher: Launcher, env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<void> {
  const procs = pairProcesses(p, prefix, env);
  const states = () => failoverNodes(monitorAdminUrl(p)).catch(() => []);
  const until = async (what: string, done: () => Promise<boolean>) => {
    const deadline = Date.now() + timeoutMs;
    while (!(await done())) {
      launcher.check();
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  };
  launcher.start(procs.monitor);
  await until('the pg_auto_failover monitor', () =>
    tuneFailoverMonitor(monitorAdminUrl(p), FAST_FAILOVER).then(
      () => true,
      () => false,
    ),
  );
  launcher.start(procs.nodes[0]);
  await until('the first PostgreSQL node', async () => (await states())[0]?.state === 'single');
  launcher.start(procs.nodes[1]);
  await until('the standby to catch up', async () => {
    const [a, b] = await states();
    if (b?.state !== 'secondary') await checkpoint(`postgres://postgres@${p.host}:${p.nodePorts[0]}/postgres`).catch(() => {});
    return a?.state === 'primary' && b?.state === 'secondary';
  });
}

export interface SentinelPlan {
  dir: string;
  host: string;
  masterPort: number;
  replicaPort: number;
  sentinelPorts: readonly number[];
  masterName: string;
}

export interface FailoverPlan {
  pair: PairPlan;
  redis: SentinelPlan;
}

/**
 * Ports and directories for one region of the local cluster. The pair goes
 * under the temporary directory, which the postgres user can reach when the
 * cluster runs as root (a data directory under /root it could not).
 */
export async function planFailover(o: {
  host: string;
  region: string;
  database: string;
  redisPort: number;
  redisDir: string;
  dbPrefix: string;
}): Promise<FailoverPlan> {
  const port = () => freePort(o.host);
  return {
    pair: {
      dir: join(tmpdir(), `meridian-cluster-${o.dbPrefix}-${o.region}-pg`),
      host: o.host,
      monitorPort: await port(),
      nodePorts: [await port(), await port()],
      database: o.database,
    },
    redis: {
      dir: o.redisDir,
      host: o.host,
      masterPort: o.redisPort,
      replicaPort: await port(),
      sentinelPorts: [await port(), await port(), await port()],
      masterName: o.region,
    },
  };
}

export const sentinelUrl = (s: SentinelPlan) => `redis+sentinel://${s.sentinelPorts.map((port) => `${s.host}:${port}`).join(',')}/${s.masterName}`;

/** Writes a Sentinel's configuration (Sentinel rewrites it as it learns the set, so each has its own). */
export function writeSentinelConf(path: string, s: Pick<SentinelPlan, 'host' | 'masterPort' | 'masterName' | 'dir'>, port: number, quorum: number): void {
  const lines = [
    `port ${port}`,
    `bind ${s.host}`,
    `dir ${s.dir}`,
    `sentinel monitor ${s.masterName} ${s.host} ${s.masterPort} ${quorum}`,
    `sentinel down-after-milliseconds ${s.masterName} 1000`,
    `sentinel failover-timeout ${s.masterName} 5000`,
    `sentinel parallel-syncs ${s.masterName} 1`,
  ];
  writeFileSync(path, `${lines.join('\n')}\n`);
}

/** The master, its replica and the Sentinels, in that order. */
export function sentinelProcesses(s: SentinelPlan, prefix: string, env: NodeJS.ProcessEnv): ProcessSpec[] {
  mkdirSync(s.dir, { recursive: true });
  const redis = (name: string, port: number, extra: string[] = []): ProcessSpec => ({
    name: `${prefix}${name}`,
    command: 'redis-server',
    args: ['--port', String(port), '--bind', s.host, '--save', '', '--appendonly', 'no', '--dir', s.dir, ...extra],
    env,
  });
  const quorum = Math.floor(s.sentinelPorts.length / 2) + 1;
  return [
    redis('redis-master', s.masterPort),
    redis('redis-replica', s.replicaPort, ['--replicaof', s.host, String(s.masterPort), '--dbfilename', 'replica.rdb']),
    ...s.sentinelPorts.map((port, i) => {
      const conf = join(s.dir, `sentinel-${i}.conf`);
      writeSentinelConf(conf, s, port, quorum);
      return { name: `${prefix}sentinel-${i}`, command: 'redis-server', args: [conf, '--sentinel'], env };
    }),
  ];
}
