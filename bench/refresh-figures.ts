/**
 * Figure 3 of `npm run bench`: refresh at 64 clients, each rotating its own
 * token. Meridian against node-oidc-provider on the durable PostgreSQL
 * adapter (both commit every rotation to the same PostgreSQL; the target),
 * and against the provider on its in-memory adapter (no I/O at all;
 * reported). When BENCH_BASELINE_COMMIT names a build (default bf63034;
 * empty to skip), the same load also runs against that build on its own
 * fresh database: PostgreSQL CPU per refresh this build vs that one (its
 * backends and the server's shared processes), with throughput and p99.
 * Every contender stays up and they take turns, BENCH_AB_ROUNDS rounds
 * (default 2), the order reversed every other round, so that a change in the
 * machine's other load falls on all alike; each one's turns are summed.
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
const ROUNDS = Number(process.env.BENCH_AB_ROUNDS ?? 2);

type Measured = Awaited<ReturnType<typeof load>>;
interface Combined {
  rps: number;
  p99: number;
  cpuUs: Record<string, number>;
}

/** One contender's turns together: mean throughput, worst p99, CPU per request over all its requests. */
function combine(turns: Measured[]): Combined {
  const requests = turns.reduce((n, t) => n + t.requests, 0);
  const cpuUs: Record<string, number> = {};
  for (const t of turns) for (const [k, us] of Object.entries(t.cpuUs ?? {})) cpuUs[k] = (cpuUs[k] ?? 0) + (us * t.requests) / requests;
  return { rps: turns.reduce((n, t) => n + t.rps, 0) / turns.length, p99: Math.max(...turns.map((t) => t.p99)), cpuUs };
}

/** Runs every contender once a round, in turns, the order reversed every other round. */
async function inTurns(contenders: Record<string, () => Promise<Measured>>): Promise<Record<string, Combined>> {
  const names = Object.keys(contenders);
  const turns: Record<string, Measured[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const name of round % 2 === 0 ? names : [...names].reverse()) turns[name]!.push(await contenders[name]!());
  }
  return Object.fromEntries(names.map((n) => [n, combine(turns[n]!)]));
}

const meridianLoad = (r: Region) => () =>
  load({ port: r.port, mode: 'refresh-meridian', username: 'refresher', password: PASSWORD, concurrency: CLIENTS }, r.groups);
const oidcLoad = (peer: Peer, groups: Record<string, Group>) => () =>
  load({ port: peer.port, mode: 'refresh-oidc', concurrency: CLIENTS }, { 'node-oidc-provider': { pids: [peer.pid] }, ...groups });
/** PostgreSQL's CPU per request: the region's backends and the server's shared processes. */
const postgresUs = (us: Record<string, number>) => (us['PostgreSQL backends'] ?? 0) + (us['PostgreSQL shared'] ?? 0);
const p99s = (a: number, b: number) => `p99 ${fmt(a, ' ms')} vs ${fmt(b, ' ms')}`;

/** Runs the loads, records the rows; returns the CPU µs per refresh by process, per contender. */
export async function refreshFigures(
  region: Region,
  peers: { memory: Peer; durable: Peer },
  opts: { pgUrl: string; redisUrl?: string },
): Promise<Record<string, Record<string, number>>> {
  const durablePostgres: Record<string, Group> = {
    'PostgreSQL backends': { find: backendsOf(region.admin, { database: region.database, application: APPLICATION_NAME }) },
    'PostgreSQL shared': { find: sharedProcesses(region.admin) },
  };
  const commit = process.env.BENCH_BASELINE_COMMIT ?? DEFAULT_BASELINE;
  const other = commit ? await startRegion({ pgUrl: opts.pgUrl, redisUrl: opts.redisUrl, root: baselineTree(commit) }) : undefined;
  const build = thisBuild();
  // Named apart even when this checkout is the baseline commit itself (an A/A run).
  const baseline = commit === build ? `${commit}, extracted` : commit;
  const results = await inTurns({
    [build]: meridianLoad(region),
    ...(other ? { [baseline]: meridianLoad(other) } : {}),
    'node-oidc-provider on PostgreSQL': oidcLoad(peers.durable, durablePostgres),
    'node-oidc-provider in memory': oidcLoad(peers.memory, {}),
  }).finally(() => other?.stop());
  const ours = results[build]!;
  const durable = results['node-oidc-provider on PostgreSQL']!;
  const memory = results['node-oidc-provider in memory']!;
  const turns = `${ROUNDS} turns each`;
  record(`refresh (req/s) vs node-oidc-provider on PostgreSQL, ${turns}, worst ${p99s(ours.p99, durable.p99)}`, ours.rps, durable.rps, 2.0, ours.p99 <= 20);
  report(`refresh (req/s) vs node-oidc-provider in memory, worst ${p99s(ours.p99, memory.p99)}`, ours.rps, memory.rps);
  const theirs = results[baseline];
  if (theirs) {
    const ratio = postgresUs(ours.cpuUs) / postgresUs(theirs.cpuUs);
    rows.push({
      figure: `PostgreSQL CPU per refresh (µs), ${build} vs ${baseline}, ${turns}`,
      value: fmt(postgresUs(ours.cpuUs)),
      baseline: fmt(postgresUs(theirs.cpuUs)),
      ratio,
      target: '<= 0.6x',
      pass: ratio <= 0.6,
    });
    report(`refresh (req/s), ${build} vs ${baseline}, worst ${p99s(ours.p99, theirs.p99)}`, ours.rps, theirs.rps);
  }
  return Object.fromEntries(Object.entries(results).map(([name, r]) => [`refresh, ${name}`, r.cpuUs]));
}
