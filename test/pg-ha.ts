/**
 * A PostgreSQL pair managed by pg_auto_failover on loopback ports, for the
 * failover tests (the same pair `meridian cluster --ha` runs, see
 * src/devcluster/failover.ts). Each pg_autoctl process tree runs in its own
 * process group, so that a node can be killed like a machine that lost power.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorAdminUrl, nodeName, type PairPlan, pairUrl, preparePairDir, startPair } from '../src/devcluster/failover.js';
import { failoverNodes } from '../src/storage/storage.js';
import { eventually, freePort } from './helpers.js';

export { pgAutoFailoverMissing } from '../src/devcluster/failover.js';

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

const WRITABLE = new Set(['single', 'wait_primary', 'primary']);

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.pid) process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

export async function startPgHaPair(): Promise<PgHaPair> {
  const dir = mkdtempSync(join(tmpdir(), 'meridian-pgha-'));
  preparePairDir(dir);
  const plan: PairPlan = { dir, host: '127.0.0.1', monitorPort: await freePort(), nodePorts: [await freePort(), await freePort()], database: 'meridian' };
  const groups = new Map<string, ChildProcess>();
  const logOf = (name: string) => join(dir, `${name}.log`);
  const nodes: HaNode[] = plan.nodePorts.map((port, i) => ({ name: nodeName(i), port }));
  const states = () => failoverNodes(monitorAdminUrl(plan)).catch(() => []);

  const pair: PgHaPair = {
    url: pairUrl(plan),
    nodes,
    async primary() {
      const p = (await states()).find((n) => WRITABLE.has(n.state));
      if (!p) throw new Error('the monitor names no primary');
      return nodes.find((n) => n.port === p.port)!;
    },
    kill(node) {
      const child = groups.get(node.name);
      if (child) signalGroup(child, 'SIGKILL');
    },
    async failedOver(old, ms = 30_000) {
      await eventually(async () => (await states()).some((n) => n.port !== old.port && WRITABLE.has(n.state)), ms, 'the standby to be promoted', 100);
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
    await startPair(
      plan,
      '',
      {
        start: (spec) => {
          const log = openSync(logOf(spec.name), 'a');
          groups.set(spec.name, spawn(spec.command, spec.args, { env: spec.env, detached: true, stdio: ['ignore', log, log] }));
        },
        check: () => {
          for (const [name, c] of groups) {
            if (c.exitCode !== null) throw new Error(`pg_autoctl ${name} exited:\n${readFileSync(logOf(name), 'utf8').slice(-2000)}`);
          }
        },
      },
      process.env,
      30_000,
    );
    return pair;
  } catch (err) {
    await pair.close();
    throw err;
  }
}
