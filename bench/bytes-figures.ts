/**
 * The figures of `npm run bench` about bytes, this build's beside the
 * baseline's (BENCH_BASELINE_COMMIT, default bf63034; empty for none), each
 * measured by its own process that drives the build over HTTP only: token
 * state on disk (bench/token-bytes.ts, with BENCH_BYTES=1) and replication
 * payload per rotation (bench/replication-bytes.ts, run in each build's tree).
 */
import { baselineTree, copyInto, DEFAULT_BASELINE, thisBuild } from './baseline.js';
import { start } from './child.js';
import { fmt, rows } from './measure.js';

/** The first JSON line of `file` run to its end (in `tree`, another build's, when given). */
async function result<T>(file: string, args: string[], tree?: string): Promise<T> {
  const child = start(file, args, {}, 'pipe', tree);
  const line = (await child.line()) as unknown as T;
  await child.exited;
  return line;
}

interface Bytes {
  sessions: number;
  rotations: number;
  bytesPerSessionAfterFirstRotation: number;
  bytesPerSessionAtEnd: number;
  bytesPerRotationAfterFirst: number;
  seconds: number;
}

/** BENCH_BYTES=1: token state on disk, this build's and the baseline's, each from its own bench/token-bytes.ts. */
export async function tokenBytes(): Promise<void> {
  const commit = process.env.BENCH_BASELINE_COMMIT ?? DEFAULT_BASELINE;
  const ours = await result<Bytes>('bench/token-bytes.ts', []);
  const theirs = commit ? await result<Bytes>('bench/token-bytes.ts', [commit]) : undefined;
  const against = (f: (b: Bytes) => number) => ({ value: fmt(f(ours)), baseline: theirs ? fmt(f(theirs)) : '-', ratio: theirs ? f(ours) / f(theirs) : NaN });
  const runs = `${ours.sessions.toLocaleString('en')} sessions, ${ours.rotations.toLocaleString('en')} rotations, ${Math.round(ours.seconds)} s`;
  rows.push({
    figure: `token tables, bytes per session after its first rotation (${runs})`,
    ...against((b) => b.bytesPerSessionAfterFirstRotation),
    target: 'reported',
  });
  rows.push({
    figure: `token tables, bytes per session at the end, ${thisBuild()} vs ${commit || '-'}`,
    ...against((b) => b.bytesPerSessionAtEnd),
    target: 'flat: <= 1.1x its first-rotation figure',
    pass: ours.bytesPerSessionAtEnd <= 1.1 * ours.bytesPerSessionAfterFirstRotation,
  });
  rows.push({
    figure: 'token tables, growth per rotation after the first of each session (bytes)',
    ...against((b) => b.bytesPerRotationAfterFirst),
    target: 'reported',
  });
}

/** Replication bytes per rotation, this build and the baseline, each from bench/replication-bytes.ts run in its own tree. */
export async function replicationBytes(): Promise<void> {
  const commit = process.env.BENCH_BASELINE_COMMIT ?? DEFAULT_BASELINE;
  const rotations = process.env.BENCH_REPLICATION_ROTATIONS ?? '1000';
  type Bytes = { replicationBodyBytesPerRotation: number; replicationBodyBytesSentPerRotation: number };
  const ours = await result<Bytes>('bench/replication-bytes.ts', [rotations]);
  const tree = commit ? baselineTree(commit) : undefined;
  if (tree) for (const file of ['bench/replication-bytes.ts', 'bench/three-regions.ts']) copyInto(tree, file);
  const theirs = tree ? await result<Bytes>('bench/replication-bytes.ts', [rotations], tree) : undefined;
  for (const [what, f] of [
    ['answered batches', (b: Bytes) => b.replicationBodyBytesPerRotation],
    ['every batch sent, retries included', (b: Bytes) => b.replicationBodyBytesSentPerRotation],
  ] as const)
    rows.push({
      figure: `replication bytes per rotation to the peers (${what}), ${thisBuild()} vs ${commit || '-'}, ${rotations} rotations`,
      value: fmt(f(ours)),
      baseline: theirs ? fmt(f(theirs)) : '-',
      ratio: theirs ? f(ours) / f(theirs) : NaN,
      target: 'reported',
    });
}
