/**
 * Reading metric values in tests, straight from the registry (no scrape, so
 * no sampler runs between two readings) and audit lines from captured logs.
 */
import type { Metrics } from '../src/observability/metrics.js';

/**
 * The sum of a metric's series whose labels include `labels`. For a
 * histogram, name one of its series: `<name>_count`, `<name>_sum`.
 */
export async function metricValue(m: Metrics, name: string, labels: Record<string, string> = {}): Promise<number> {
  const series = /_(count|sum)$/.test(name) && !m.registry.getSingleMetric(name) ? name : undefined;
  const metric = m.registry.getSingleMetric(series ? name.replace(/_(count|sum)$/, '') : name);
  if (!metric) throw new Error(`no metric named ${name}`);
  const values = (await metric.get()).values as { value: number; labels: Record<string, unknown>; metricName?: string }[];
  return values
    .filter((v) => (series ? v.metricName === series : true))
    .filter((v) => Object.entries(labels).every(([k, x]) => String(v.labels[k]) === x))
    .reduce((sum, v) => sum + v.value, 0);
}

/** Runs `act` and returns how much each named series moved. */
export async function deltas(
  m: Metrics,
  series: Record<string, [name: string, labels?: Record<string, string>]>,
  act: () => Promise<unknown>,
): Promise<Record<string, number>> {
  const before: Record<string, number> = {};
  for (const [key, [name, labels]] of Object.entries(series)) before[key] = await metricValue(m, name, labels);
  await act();
  const moved: Record<string, number> = {};
  for (const [key, [name, labels]] of Object.entries(series)) moved[key] = (await metricValue(m, name, labels)) - (before[key] as number);
  return moved;
}

export interface AuditLine {
  audit: true;
  level: number;
  event: string;
  region: string;
  outcome: string;
  user_id: string | null;
  session_id: string | null;
  request_id: string | null;
  [field: string]: unknown;
}

/** The audit lines of `event` among captured log lines, oldest first. */
export function auditLines(logs: string[], event: string): AuditLine[] {
  return logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l): l is AuditLine => l.audit === true && l.event === event);
}
