/**
 * What every figure of `npm run bench` is measured and recorded with: a
 * bounded load from its own process (bench/load.ts) with the CPU time it cost
 * each group of processes, and the table of rows the run prints.
 */
import { start } from './child.js';
import { cpuWindow, type Group } from './cpu.js';

export const SECONDS = Number(process.env.BENCH_SECONDS ?? 6);
export const PASSWORD = 'correct horse battery staple';

export interface Load {
  requests: number;
  ok: number;
  rps: number;
  p50: number;
  p99: number;
  statuses: Record<string, number>;
}

/** A load from its own process; `groups` have their CPU time measured while it runs (after its setup), in µs per request. */
export async function load(opts: Record<string, unknown>, groups: Record<string, Group> = {}): Promise<Load & { cpuUs?: Record<string, number> }> {
  const child = start('bench/load.ts', [JSON.stringify({ seconds: SECONDS, ...opts })]);
  await child.line((l) => l.ready === true);
  const cpu = cpuWindow({ ...groups, 'load generator': { pids: [child.pid] } });
  const result = (await child.line()) as unknown as Load;
  const used = await cpu?.close();
  await child.exited;
  if (!used || !Object.keys(groups).length) return result;
  return { ...result, cpuUs: Object.fromEntries(Object.entries(used).map(([k, s]) => [k, (s * 1e6) / result.requests])) };
}

export async function http(port: number, method: string, path: string, body?: unknown) {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: body ? { 'content-type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, text: await res.text() };
}

/** One line of the results table; `pass` unset for a figure that is reported, not judged. */
export type Row = { figure: string; value: string; baseline: string; ratio: number; target: string; pass?: boolean };
export const rows: Row[] = [];
export const fmt = (n: number, unit = '') => `${n >= 100 ? Math.round(n).toLocaleString('en') : n.toFixed(2)}${unit}`;
/** A figure whose target is a ratio of at least `target`, and `extra` besides. */
export function record(figure: string, value: number, baseline: number, target: number, extra = true, ratio = value / baseline) {
  rows.push({ figure, value: fmt(value), baseline: fmt(baseline), ratio, target: `>= ${target}x`, pass: ratio >= target && extra });
}
/** A ratio printed without a target. */
export function report(figure: string, value: number, baseline: number) {
  rows.push({ figure, value: fmt(value), baseline: fmt(baseline), ratio: value / baseline, target: 'reported' });
}
