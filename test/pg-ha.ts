/**
 * A PostgreSQL pair managed by pg_auto_failover on loopback ports, for the
 * failover tests: a monitor, a primary and a synchronous standby, each its
 * own `pg_autoctl` process tree in its own process group, so that a node
 * can be killed like a machine that lost power. The monitor's health checks
 * are tuned from the default tens of seconds to about one, so a failover
 * takes seconds. pg_autoctl refuses to run as root: run as root, every
 * command runs as the postgres user.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { eventually, freePort } from './helpers.js';

/** Monitor settings for a failover in seconds (defaults: 5 s checks, 20 s until unhealthy, 30 s demote timeout). */
const FAST_FAILOVER: Record<string, number> = {
  'pgautofailover.health_check_period': 1000,
  'pgautofailover.health_check_timeout': 1000,
  'pgautofailover.health_check_max_retries': 1,
  'pgautofailover.health_check_retry_delay': 500,
  'pgautofailover.node_considered_unhealthy_timeout': 2000,
  'pgautofailover.primary_demote_timeout': 2000,
  'pgautofailover.startup_grace_period': 1000,
};

const DATABASE = 'meridian';

export interface HaNode {
  name: string;
  port: number;
}

export interface PgHaPair {
  /** Both nodes, for Meridian: `postgres://postgres@127.0.0.1:p1,127.0.0.1:p2/meridian?target_session_attrs=read-write`. */
  url: string;
  nodes: HaNode[];
  /** The node the monitor has as primary now. */
  primary(): Promise<HaNode>;
  /** SIGKILL to the node's pg_autoctl and PostgreSQL processes at once: the machine is gone. */
  kill(node: HaNode): void;
  /** Waits until the monitor reports a node other than `old` as the writable primary. */
  failedOver(old: HaNode, ms?: number): Promise<HaNode>;
  close(): Promise<void>;
}

/** Installed by .ci/run (Debian: postgresql-15-auto-failover, pg-auto-failover-cli). */
export function pgAutoFailoverMissing(): string | false {
  try {
    execFileSync('pg_autoctl', ['--version'], { stdio: 'ignore' });
    return false;
  } catch {
    return 'pg_autoctl is not installed (apt-get install postgresql-15-auto-failover pg-auto-failover-cli)';
  }
}

function pgBinDir(): string {
  const versions = readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a));
  const found = versions.map((v) => `/usr/lib/postgresql/${v}/bin`).find((d) => existsSync(join(d, 'pg_ctl')));
  if (!found) throw new Error('no PostgreSQL server binaries under /usr/lib/postgresql');
  return found;
}

const asRoot = process.getuid?.() === 0;

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.pid) process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

export async function startPgHaPair(): Promise<PgHaPair> {
  const dir = mkdtempSync(join(tmpdir(), 'meridian-pgha-'));
  if (asRoot) {
    const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }));
    chownSync(dir, id('-u'), id('-g'));
  }
  const env = [`PATH=${pgBinDir()}:/usr/bin:/bin`, `XDG_CONFIG_HOME=${dir}/config`, `XDG_DATA_HOME=${dir}/share`];
  const groups = new Map<string, ChildProcess>();
  const launch = (name: string, args: string[]) => {
    const log = openSync(join(dir, `${name}.log`), 'a');
    const argv = ['env', ...env, 'pg_autoctl', ...args];
    const child = asRoot
      ? spawn('runuser', ['-u', 'postgres', '--', ...argv], { detached: true, stdio: ['ignore', log, log] })
      : spawn(argv[0]!, argv.slice(1), { detached: true, stdio: ['ignore', log, log] });
    groups.set(name, child);
  };
  const logOf = (name: string) =>
    readFileSync(join(dir, `${name}.log`), 'utf8')
      .split('\n')
      .slice(-15)
      .join('\n');

  const [monitorPort, port1, port2] = [await freePort(), await freePort(), await freePort()];
  const monitorUrl = `postgres://autoctl_node@127.0.0.1:${monitorPort}/pg_auto_failover?sslmode=disable`;
  const common = ['--hostname', '127.0.0.1', '--auth', 'trust', '--no-ssl', '--run'];
  const monitor = async <T>(sql: string): Promise<T[]> => {
    const c = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${monitorPort}/pg_auto_failover`, connectionTimeoutMillis: 1000 });
    c.on('error', () => {});
    try {
      await c.connect();
      return (await c.query(sql)).rows as T[];
    } finally {
      await c.end().catch(() => {});
    }
  };
  const states = () =>
    monitor<{ nodename: string; nodeport: number; reportedstate: string; goalstate: string }>(
      'SELECT nodename, nodeport, reportedstate, goalstate FROM pgautofailover.node ORDER BY nodeid',
    ).catch(() => []);
  const onNode = async (port: number, sql: string) => {
    const c = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/postgres`, connectionTimeoutMillis: 1000 });
    c.on('error', () => {});
    try {
      await c.connect();
      await c.query(sql);
    } catch {
      // Not up yet: the caller asks again.
    } finally {
      await c.end().catch(() => {});
    }
  };
  const reached = (name: string, wanted: (s: Awaited<ReturnType<typeof states>>) => boolean, what: string, ms = 30_000) =>
    eventually(
      async () => {
        const child = groups.get(name);
        if (child?.exitCode !== null && child?.exitCode !== undefined) throw new Error(`pg_autoctl ${name} exited:\n${logOf(name)}`);
        return wanted(await states());
      },
      ms,
      () => `${what}\n${logOf(name)}`,
      200,
    );

  const nodes: HaNode[] = [
    { name: 'node_a', port: port1 },
    { name: 'node_b', port: port2 },
  ];
  const pair: PgHaPair = {
    url: `postgres://postgres@127.0.0.1:${port1},127.0.0.1:${port2}/${DATABASE}?target_session_attrs=read-write`,
    nodes,
    async primary() {
      const s = await states();
      const p = s.find((n) => n.reportedstate === 'primary' || n.reportedstate === 'wait_primary' || n.reportedstate === 'single');
      if (!p) throw new Error(`no primary: ${JSON.stringify(s)}`);
      return nodes.find((n) => n.port === p.nodeport)!;
    },
    kill(node) {
      const child = groups.get(node.name);
      if (child) signalGroup(child, 'SIGKILL');
    },
    async failedOver(old, ms = 30_000) {
      await eventually(
        async () => (await states()).some((n) => n.nodeport !== old.port && (n.reportedstate === 'wait_primary' || n.reportedstate === 'primary')),
        ms,
        'the standby to be promoted',
        100,
      );
      return nodes.find((n) => n.port !== old.port)!;
    },
    async close() {
      const alive = [...groups.values()].filter((c) => c.pid && c.exitCode === null && c.signalCode === null);
      const exited = alive.map((c) => new Promise((resolve) => c.once('exit', resolve)));
      // SIGINT: a fast shutdown of pg_autoctl and of its PostgreSQL, which is in the same group.
      for (const c of alive) signalGroup(c, 'SIGINT');
      await Promise.all(exited);
      rmSync(dir, { recursive: true, force: true });
    },
  };

  try {
    launch('monitor', ['create', 'monitor', '--pgdata', join(dir, 'monitor'), '--pgport', String(monitorPort), ...common]);
    await eventually(
      () =>
        monitor('SELECT 1').then(
          () => true,
          () => false,
        ),
      30_000,
      () => `the monitor\n${logOf('monitor')}`,
      200,
    );
    for (const [key, value] of Object.entries(FAST_FAILOVER)) await monitor(`ALTER SYSTEM SET ${key} = ${value}`);
    await monitor('SELECT pg_reload_conf()');

    const node = (n: HaNode) => [
      'create',
      'postgres',
      '--pgdata',
      join(dir, n.name),
      '--pgport',
      String(n.port),
      '--listen',
      '127.0.0.1',
      '--name',
      n.name,
      '--dbname',
      DATABASE,
      '--monitor',
      monitorUrl,
      ...common,
    ];
    launch(nodes[0]!.name, node(nodes[0]!));
    await reached(nodes[0]!.name, (s) => s[0]?.reportedstate === 'single', 'the first node to run alone');
    launch(nodes[1]!.name, node(nodes[1]!));
    // pg_basebackup asks for a spread checkpoint, which an idle server takes minutes to finish: ask for one now.
    await reached(
      nodes[1]!.name,
      (s) => {
        if (s[1]?.reportedstate !== 'secondary') void onNode(port1, 'CHECKPOINT');
        return s[0]?.reportedstate === 'primary' && s[1]?.reportedstate === 'secondary';
      },
      'the standby to catch up (synchronous replication on)',
    );
    return pair;
  } catch (err) {
    await pair.close();
    throw err;
  }
}
