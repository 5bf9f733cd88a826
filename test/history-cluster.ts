/**
 * The history test's view of a region set: one HTTP answer reduced to what
 * the rules read, the wait for replication to settle once every link is
 * healed, and where ended sessions' access tokens still work after it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import { bearer, eventually, metricValue, post } from './helpers.js';
import type { Answer } from './history-model.js';
import type { RegionSet } from './regions-harness.js';

/** POSTs to one region and keeps the status, error, Retry-After, serving region and tokens of the answer. */
export async function ask(app: FastifyInstance, url: string, body: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const sent = performance.now();
  const res = await post(app, url, body, headers);
  let parsed: Record<string, unknown> = {};
  try {
    parsed = res.body ? (JSON.parse(res.body) as Record<string, unknown>) : {};
  } catch {}
  const header = (name: string) => (res.headers[name] === undefined ? undefined : String(res.headers[name]));
  return {
    status: res.statusCode,
    error: parsed.error as string | undefined,
    retryAfter: header('retry-after'),
    servedBy: header('x-meridian-region'),
    refreshToken: parsed.refresh_token as string | undefined,
    accessToken: parsed.access_token as string | undefined,
    expiresIn: parsed.expires_in as number | undefined,
    ms: performance.now() - sent,
  };
}

/** An answer as the op log prints it. */
export function shown(a: Answer): string {
  return `${a.status}${a.error ? ` ${a.error}` : ''}${a.servedBy ? ` by ${a.servedBy}` : ''}${a.status === 503 ? ` Retry-After ${a.retryAfter}` : ''}`;
}

/** Replication calls to another region that did not get an answer, summed over the regions. */
export async function failedReplications(set: RegionSet): Promise<number> {
  let n = 0;
  for (const node of Object.values(set.nodes)) n += await metricValue(node.t.services.metrics.regionCalls, { operation: 'replicate', outcome: 'unreachable' });
  return n;
}

async function backlog(set: RegionSet): Promise<string[]> {
  const left: string[] = [];
  for (const [id, node] of Object.entries(set.nodes)) {
    const { rows } = await node.t.db.query<{ what: string; n: string }>(
      `SELECT 'unsent ' || kind AS what, count(*) AS n FROM outbox WHERE sent_at IS NULL GROUP BY kind
       UNION ALL SELECT 'queued ' || kind || ' for ' || target, count(*) FROM replication_queue GROUP BY kind, target`,
    );
    for (const r of rows) left.push(`${id}: ${r.n} ${r.what}`);
  }
  return left;
}

/** Waits until no region has a change left to send; on timeout says what is stuck where, with each region's last warnings. */
export async function settle(set: RegionSet): Promise<void> {
  let left: string[] = [];
  // Twice empty in a row: an apply may queue a revocation of its own (a double spend found).
  const emptyTwice = async () => {
    left = await backlog(set);
    if (left.length > 0) return false;
    await sleep(300);
    left = await backlog(set);
    return left.length === 0;
  };
  const warnings = () =>
    Object.entries(set.nodes).flatMap(([id, node]) =>
      node.t.logs
        .filter((l) => Number(JSON.parse(l).level) >= 40)
        .slice(-3)
        .map((l) => `${id}: ${l.trim()}`),
    );
  await eventually(emptyTwice, 30_000, () => `replication to settle (left: ${left.join('; ')})\n${warnings().join('\n')}`);
}

/**
 * Where the access tokens of ended sessions are still accepted ("S3 at eu-west"), once every
 * region's verifiers have had time to hear of the revocations on their channel; empty when none.
 */
export async function acceptedAccess(set: RegionSet, ended: { label: string; access: string }[]): Promise<string[]> {
  let left: string[] = [];
  const probe = async () => {
    left = [];
    for (const s of ended)
      for (const [id, node] of Object.entries(set.nodes))
        if ((await node.t.app.inject({ url: '/v1/auth/me', headers: bearer(s.access) })).statusCode !== 401) left.push(`${s.label} at ${id}`);
    return left.length === 0;
  };
  await eventually(probe, 5000, 'access tokens of ended sessions refused').catch(() => {});
  return left;
}
