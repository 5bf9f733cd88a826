/**
 * CPU time of the processes a load runs on, read from /proc (Linux): what a
 * request costs Meridian, its worker, PostgreSQL and Redis, and what it costs
 * the peer, when they all share one machine. On a saturated machine that sum,
 * not any one process, bounds throughput. Elsewhere there is no /proc, and the
 * figures are left out.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';

/**
 * Which processes make up a group: by pid, by command name, or by pids looked
 * up when the window closes (PostgreSQL backends, which come and go with
 * their pools).
 */
export type Group = { pids?: readonly number[]; comm?: string; find?: () => Promise<readonly number[]> };

const TICKS_PER_SECOND = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

export const canMeasureCpu = existsSync('/proc/self/stat');

/** User + system seconds of every process, by pid, with its command name. */
function sample(): Map<number, { comm: string; seconds: number }> {
  const out = new Map<number, { comm: string; seconds: number }>();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // The command name is in parentheses and may hold spaces; the fields after it are fixed.
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(pid, { comm, seconds: (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND });
    } catch {
      // The process exited while we read.
    }
  }
  return out;
}

export interface CpuWindow {
  /** CPU seconds each group used since the window opened. */
  close(): Promise<Record<string, number>>;
}

/**
 * Opens a window over the groups' CPU time. A process that starts inside the
 * window counts from its start; one that exits inside it is not counted.
 */
export function cpuWindow(groups: Record<string, Group>): CpuWindow | undefined {
  if (!canMeasureCpu) return undefined;
  const before = sample();
  return {
    async close() {
      // Sampled first: a load process that has printed its results may exit while the groups are looked up.
      const after = sample();
      const found = await Promise.all(Object.values(groups).map((g) => (g.find ? g.find() : Promise.resolve([]))));
      const used: Record<string, number> = {};
      for (const [i, [name, g]] of Object.entries(groups).entries()) {
        let s = 0;
        for (const [pid, p] of after) {
          const member = g.pids?.includes(pid) || found[i]!.includes(pid) || (g.comm !== undefined && p.comm === g.comm);
          if (member) s += p.seconds - (before.get(pid)?.seconds ?? 0);
        }
        used[name] = s;
      }
      return used;
    },
  };
}
