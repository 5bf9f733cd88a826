/**
 * Figure 3 of `npm run bench`: refresh at 64 clients, each rotating its own
 * token. Meridian against node-oidc-provider on the durable PostgreSQL
 * adapter (both commit every rotation to the same PostgreSQL; the target),
 * and against the provider on its in-memory adapter (no I/O at all;
 * reported). Then, when BENCH_BASELINE_COMMIT names a build (default
 * bf63034; empty to skip), the same load against that build on its own
 * fresh database, the two taking turns (BENCH_AB_ROUNDS rounds, default 2):
 * PostgreSQL CPU per refresh this build vs that one (its backends and the
 * server's shared processes), with throughput and p99.
 */
import { baselineTree, DEFAULT_BASELINE, thisBuild } from './baseline.js';
import type { Group } from './cpu.js';
import { type Region, startRegion } from './meridian.js';
import { fmt, load, PASSWORD, record, report, rows } from './measure.js';
import { APPLICATION_NAME } from './oidc-pg-adapter.js';
import { backendsOf, sharedProcesses } from './pg-backends.js';

export interface Peer {
  port: number;
  pid: number;
}

const CLIENTS = 64;
const AB_ROUNDS = Number(process.env.BENCH_AB_ROUNDS ?? 2);

type Measured = Awaited<ReturnType<typeof load>>;

/** Turns of one build together: mean throughput, worst p99, CPU per request over all requests. */
function combine(turns: Measured[]): { rps: number; p99: number; cpuUs: Record<string, number> } {
  const requests = turns.reduce((n, t) => n + t.requests, 0);
  const cpuUs: Record<string, number> = {};
  for (const t of turns) for (const [k, us] of Object.entries(t.cpuUs ?? {})) cpuUs[k] = (cpuUs[k] ?? 0) + (us * t.requests) / requests;
  return { rps: turns.reduce((n, t) => n + t.rps, 0) / turns.length, p99: Math.max(...turns.map((t) => t.p99)), cpuUs };
}
const meridianLoad = (port: number) => ({ port, mode: 'refresh-meridian', username: 'refresher', password: PASSWORD, concurrency: CLIENTS });
const oidcLoad = (port: number) => ({ port, mode: 'refresh-oidc', concurrency: CLIENTS });
/** PostgreSQL's CPU per request: the region's backends and the server's shared processes. */
const postgresUs = (us: Record<string, number> = {}) => (us['PostgreSQL backends'] ?? 0) + (us['PostgreSQL shared'] ?? 0);
const p99s = (a: number, b: number) => `p99 ${fmt(a, ' ms')} vs ${fmt(b, ' ms')}`;

/** Runs the loads, records the rows; returns the CPU µs per refresh by process, per load. */
export async function refreshFigures(
  region: Region,
  peers: { memory: Peer; durable: Peer },
  opts: { pgUrl: string; redisUrl?: string },
): Promise<Record<string, Record<string, number>>> {
  const durableGroups: Record<string, Group> = {
    'node-oidc-provider': { pids: [peers.durable.pid] },
    'PostgreSQL backends': { find: backendsOf(region.admin, { database: region.database, application: APPLICATION_NAME }) },
    'PostgreSQL shared': { find: sharedProcesses(region.admin) },
  };
  const memory = await load(oidcLoad(peers.memory.port), { 'node-oidc-provider': { pids: [peers.memory.pid] } });
  const durable = await load(oidcLoad(peers.durable.port), durableGroups);
  const ours = await load(meridianLoad(region.port), region.groups);
  record(`refresh (req/s) vs node-oidc-provider on PostgreSQL, ${p99s(ours.p99, durable.p99)}`, ours.rps, durable.rps, 2.0, ours.p99 <= 20);
  report(`refresh (req/s) vs node-oidc-provider in memory, ${p99s(ours.p99, memory.p99)}`, ours.rps, memory.rps);
  const cpu: Record<string, Record<string, number>> = {
    refresh: ours.cpuUs!,
    'refresh, node-oidc-provider on PostgreSQL': durable.cpuUs!,
    'refresh, node-oidc-provider in memory': memory.cpuUs!,
  };

  const commit = process.env.BENCH_BASELINE_COMMIT ?? DEFAULT_BASELINE;
  if (!commit) return cpu;
  // Both builds stay up and take turns (A B, B A, ...), so that a change in the machine's other load
  // falls on both alike; each turn's figures are summed.
  const other = await startRegion({ pgUrl: opts.pgUrl, redisUrl: opts.redisUrl, root: baselineTree(commit) });
  const turns: { a: Measured[]; b: Measured[] } = { a: [], b: [] };
  try {
    for (let round = 0; round < AB_ROUNDS; round++) {
      const pair = [() => load(meridianLoad(region.port), region.groups), () => load(meridianLoad(other.port), other.groups)];
      const first = round % 2 === 0 ? 0 : 1;
      const results = [await pair[first]!(), await pair[1 - first]!()];
      turns.a.push(results[first]!);
      turns.b.push(results[1 - first]!);
    }
  } finally {
    await other.stop();
  }
  const [mine, theirs] = [combine(turns.a), combine(turns.b)];
  const build = thisBuild();
  const ratio = postgresUs(mine.cpuUs) / postgresUs(theirs.cpuUs);
  rows.push({
    figure: `PostgreSQL CPU per refresh (µs), ${build} vs ${commit}, ${AB_ROUNDS} turns each`,
    value: fmt(postgresUs(mine.cpuUs)),
    baseline: fmt(postgresUs(theirs.cpuUs)),
    ratio,
    target: '<= 0.6x',
    pass: ratio <= 0.6,
  });
  report(`refresh (req/s), ${build} vs ${commit}, worst p99 of the turns ${p99s(mine.p99, theirs.p99)}`, mine.rps, theirs.rps);
  cpu[`refresh, ${build}, A/B turns`] = mine.cpuUs;
  cpu[`refresh, ${commit}, A/B turns`] = theirs.cpuUs;
  return cpu;
}
