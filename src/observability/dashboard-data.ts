import type { Clock } from '../util/runtime.js';
import type { Metrics } from './metrics.js';

/**
 * What the dashboard plots, read from the metrics registry: the same numbers
 * `/metrics` serves, reduced to the series the charts need. Counters are
 * cumulative; the page turns two snapshots into a rate.
 */
export interface Snapshot {
  /** Epoch milliseconds. */
  t: number;
  /** Login attempts by outcome. */
  logins: Record<string, number>;
  /** Refresh attempts by outcome. */
  refreshes: Record<string, number>;
  /** Cache hits and misses by operation. */
  cacheHits: Record<string, number>;
  cacheMisses: Record<string, number>;
  /** Statements by kind (select, insert, ...). */
  dbQueries: Record<string, number>;
  /** Sum and count of replication lag observations by peer region. */
  replicationLagSum: Record<string, number>;
  replicationLagCount: Record<string, number>;
  /** Gauges as last sampled: jobs waiting or delayed by queue, sessions, pool. */
  queueBacklog: Record<string, number>;
  activeSessions: number;
  pool: { max: number; inUse: number; waiting: number };
}

type Values = { value: number; labels: Record<string, string | number | undefined>; metricName?: string }[];

async function valuesOf(metric: { get(): Promise<{ values: unknown[] }> }): Promise<Values> {
  return (await metric.get()).values as Values;
}

/** Sums `values` into one number per value of `label`, keeping those that pass `keep`. */
function sumBy(values: Values, label: string, keep: (v: Values[number]) => boolean = () => true): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) {
    const key = v.labels[label];
    if (key === undefined || !keep(v)) continue;
    out[String(key)] = (out[String(key)] ?? 0) + v.value;
  }
  return out;
}

const single = async (metric: { get(): Promise<{ values: unknown[] }> }): Promise<number> => (await valuesOf(metric))[0]?.value ?? 0;

/** Samples the gauges, then reads one snapshot. */
export async function readSnapshot(m: Metrics, clock: Clock): Promise<Snapshot> {
  await m.sample();
  const [logins, refreshes, cache, db, lag, queues] = await Promise.all([
    valuesOf(m.loginAttempts),
    valuesOf(m.refreshes),
    valuesOf(m.cacheLookups),
    valuesOf(m.dbQueries),
    valuesOf(m.replicationLagSeconds),
    valuesOf(m.queueJobs),
  ]);
  return {
    t: clock.now(),
    logins: sumBy(logins, 'outcome'),
    refreshes: sumBy(refreshes, 'outcome'),
    cacheHits: sumBy(cache, 'operation', (v) => v.labels.result === 'hit'),
    cacheMisses: sumBy(cache, 'operation', (v) => v.labels.result === 'miss'),
    dbQueries: sumBy(db, 'statement'),
    replicationLagSum: sumBy(lag, 'peer', (v) => v.metricName === 'meridian_replication_lag_seconds_sum'),
    replicationLagCount: sumBy(lag, 'peer', (v) => v.metricName === 'meridian_replication_lag_seconds_count'),
    queueBacklog: sumBy(queues, 'queue', (v) => v.labels.state === 'waiting' || v.labels.state === 'delayed'),
    activeSessions: await single(m.activeSessions),
    pool: { max: await single(m.dbPoolMax), inUse: await single(m.dbPoolInUse), waiting: await single(m.dbPoolWaiting) },
  };
}

export interface HistoryOptions {
  /** How often a snapshot is kept, ms. */
  everyMs: number;
  /** How many are kept (everyMs * keep is the span a freshly opened dashboard shows). */
  keep: number;
}

/** 15 minutes of history at 5 s, so a dashboard opened now shows the recent past. */
export const DEFAULT_HISTORY: HistoryOptions = { everyMs: 5000, keep: 180 };

/** A ring of recent snapshots, taken on a timer while the app runs. */
export class MetricsHistory {
  private readonly samples: Snapshot[] = [];
  private timer: NodeJS.Timeout | undefined;

  private failing = false;

  constructor(
    private readonly read: () => Promise<Snapshot>,
    readonly options: HistoryOptions = DEFAULT_HISTORY,
    /** Told of the first failed snapshot of a run of failures (the gap shows on the charts). */
    private readonly onError: (err: unknown) => void = () => {},
  ) {}

  start(): void {
    if (this.timer) return;
    void this.take();
    this.timer = setInterval(() => void this.take(), this.options.everyMs);
    // History is a convenience: it must never keep the process alive.
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Kept snapshots taken after `t`, oldest first. */
  since(t: number): Snapshot[] {
    return this.samples.filter((s) => s.t > t);
  }

  private async take(): Promise<void> {
    let s: Snapshot;
    try {
      s = await this.read();
      this.failing = false;
    } catch (err) {
      if (!this.failing) this.onError(err);
      this.failing = true;
      return;
    }
    this.samples.push(s);
    if (this.samples.length > this.options.keep) this.samples.splice(0, this.samples.length - this.options.keep);
  }
}
