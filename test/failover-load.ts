/**
 * Login, refresh and logout traffic for the failover tests, with the book
 * kept that they check afterwards: every answer's status and time, every
 * acknowledged registration, rotation and logout. A client here does what a
 * well-behaved one does: on 503 with Retry-After it asks again (sooner than
 * told, so the window is measured finely). A retry may find that the first
 * attempt did commit: a registration then answers 409, a logout 401, and the
 * test checks the database for those too. Any other answer is a failure.
 */
import assert from 'node:assert/strict';
import type { Queue } from 'bullmq';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { Db } from '../src/storage/postgres/db.js';
import { claimsOf, eventually, json, logout, PASSWORD, post, refresh, register, type Tokens } from './helpers.js';

const RETRY_MS = 50;
// Enough that a client is as likely to be refreshing as registering or logging in when a store fails.
const REFRESHES_PER_SESSION = 16;

interface Answer {
  at: number;
  op: string;
  status: number;
}

class Stopped extends Error {}

/**
 * Starts `clients` clients, lets traffic flow, then runs `kill` (which
 * returns once the store has failed over) and `recovered`, and waits until
 * every client has completed a whole cycle begun after the kill: the service
 * is back, within 30 s. Asserts that no answer was wrong; returns the load,
 * stopped, and when the kill was.
 */
export async function throughFailover(
  app: FastifyInstance,
  prefix: string,
  clients: number,
  kill: () => Promise<void>,
  recovered: () => Promise<void> = async () => {},
): Promise<{ load: AuthLoad; killedAt: number }> {
  const load = new AuthLoad(app, prefix, clients);
  try {
    await eventually(() => load.cyclesSince(0) >= clients, 20_000, 'traffic before the kill');
    const killedAt = performance.now();
    await kill();
    await recovered();
    await eventually(() => load.cyclesSince(killedAt) >= clients || load.wrong.length > 0, 30_000, 'every client to complete a cycle after the kill');
    await load.stop();
    assert.deepEqual(load.wrong, []);
    return { load, killedAt };
  } finally {
    await load.stop();
  }
}

export class AuthLoad {
  readonly answers: Answer[] = [];
  /** Answers no client may get: a 5xx other than 503 with Retry-After, a wrong invalid_grant... */
  readonly wrong: string[] = [];
  private readonly users: string[] = [];
  private readonly committedUsers: string[] = [];
  private readonly children: string[] = [];
  /** Refreshes answered 200 after a 503: their first attempt may have committed. */
  private retriedRefreshes = 0;
  private readonly logouts: string[] = [];
  private readonly committedLogouts: string[] = [];
  /** When each full register-to-logout cycle began and ended. */
  private readonly cycles: { began: number; ended: number }[] = [];
  private stopped = false;
  private readonly running: Promise<void>[];

  constructor(
    private readonly app: FastifyInstance,
    private readonly prefix: string,
    clients: number,
  ) {
    this.running = Array.from({ length: clients }, (_, i) => this.client(i));
  }

  /** Full cycles that began after `t` and have ended. */
  cyclesSince(t: number): number {
    return this.cycles.filter((c) => c.began > t).length;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.running);
  }

  /** The 503s answered after `t`: when the first and last came, and how many. */
  outage(t: number): { first: number; last: number; count: number } | undefined {
    const down = this.answers.filter((a) => a.at >= t && a.status === 503);
    if (down.length === 0) return undefined;
    return { first: down[0]!.at - t, last: down[down.length - 1]!.at - t, count: down.length };
  }

  /** The 503s after `t` and the first success after them, for the test's output. */
  describeOutage(t: number): string {
    const outage = this.outage(t);
    if (!outage) return 'no 503';
    const back = this.answers.find((a) => a.at > t + outage.last && a.status < 300);
    return (
      `503 from ${Math.round(outage.first)} to ${Math.round(outage.last)} ms after the kill (${outage.count} answers)` +
      (back ? `, first success ${Math.round(back.at - t)} ms after it` : '')
    );
  }

  /** Asserts that every acknowledged (and every committed-but-unacknowledged) write is in the database. */
  async verify(db: Db): Promise<void> {
    const count = async (sql: string, values: string[]) => Number((await db.query<{ n: string }>(sql, [values])).rows[0]!.n);
    const users = [...this.users, ...this.committedUsers];
    assert.equal(await count('SELECT count(*) AS n FROM users WHERE username = ANY($1)', users), users.length, 'every registration is there');
    // A refresh token is `<session>.<generation>.<mac>`: an acknowledged rotation is there when its session reached that generation.
    const acknowledged = new Map<string, number>();
    for (const token of this.children) {
      const [sid, gen] = token.split('.') as [string, string];
      acknowledged.set(sid, Math.max(acknowledged.get(sid) ?? 0, Number(gen)));
    }
    const { rows } = await db.query<{ id: string; generation: number; revoked_reason: string | null }>(
      'SELECT id, generation, revoked_reason FROM sessions WHERE id = ANY($1)',
      [[...acknowledged.keys()]],
    );
    assert.equal(rows.length, acknowledged.size, 'every session with an acknowledged rotation is there');
    for (const r of rows) assert.ok(r.generation >= acknowledged.get(r.id)!, `${r.id}: every acknowledged rotation is there`);
    // A refresh retried after its first attempt committed got that attempt's successor: never taken for reuse.
    assert.equal(rows.filter((r) => r.revoked_reason === 'reuse').length, 0, 'no retried refresh counted as reuse');
    const ended = [...this.logouts, ...this.committedLogouts];
    assert.equal(await count('SELECT count(*) AS n FROM sessions WHERE id = ANY($1) AND revoked_at IS NOT NULL', ended), ended.length, 'every logout is there');
  }

  /** What was acknowledged, for the report. */
  get acknowledged(): { registrations: number; rotations: number; logouts: number; retriedRefreshes: number } {
    return { registrations: this.users.length, rotations: this.children.length, logouts: this.logouts.length, retriedRefreshes: this.retriedRefreshes };
  }

  private async client(i: number): Promise<void> {
    try {
      for (let n = 0; !this.stopped; n++) await this.cycle(`${this.prefix}-${i}-${n}`);
    } catch (err) {
      if (!(err instanceof Stopped)) throw err;
    }
  }

  private async cycle(username: string): Promise<void> {
    const began = performance.now();
    const reg = await this.call('register', () => register(this.app, username), [201], [409]);
    (reg.statusCode === 201 ? this.users : this.committedUsers).push(username);
    const tokens = json<Tokens>(await this.call('login', () => post(this.app, '/v1/auth/login', { username, password: PASSWORD }), [200]));
    let current = tokens.refresh_token;
    for (let k = 0; k < REFRESHES_PER_SESSION; k++) {
      const parent = current;
      // A retried refresh finds its first attempt committed or not: either way 200 (inside the grace window, the same child).
      const rotated = await this.call(
        'refresh',
        () => refresh(this.app, parent),
        [200],
        [],
        () => this.retriedRefreshes++,
      );
      current = json<Tokens>(rotated).refresh_token;
      this.children.push(current);
    }
    const sid = claimsOf(tokens.access_token).sid;
    const out = await this.call('logout', () => logout(this.app, tokens.access_token), [204], [401]);
    (out.statusCode === 204 ? this.logouts : this.committedLogouts).push(sid);
    this.cycles.push({ began, ended: performance.now() });
  }

  /**
   * Runs `op` until it gets an answer in `ok`, asking again after each 503
   * with Retry-After; after one such 503, `afterRetry` answers are accepted too,
   * and an accepted answer calls `onRetried`.
   */
  private async call(
    op: string,
    run: () => Promise<LightMyRequestResponse>,
    ok: number[],
    afterRetry: number[] = [],
    onRetried?: () => void,
  ): Promise<LightMyRequestResponse> {
    for (let retried = false; ; retried = true) {
      const res = await run();
      this.answers.push({ at: performance.now(), op, status: res.statusCode });
      if (ok.includes(res.statusCode) || (retried && afterRetry.includes(res.statusCode))) {
        if (retried) onRetried?.();
        return res;
      }
      if (res.statusCode !== 503 || !res.headers['retry-after']) {
        this.wrong.push(`${op}: ${res.statusCode} ${res.body}`);
        throw new Stopped();
      }
      if (this.stopped) throw new Stopped();
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
    }
  }
}

/**
 * Waits until every logout's cache-sync job was queued (its outbox row marked
 * synced only once a Redis replica had it) and has run; resolves with how many.
 */
export async function everyRevocationJobRun(db: Db, queue: Queue, logouts: number): Promise<number> {
  const revocations = async () =>
    (await db.query<{ id: string; synced: boolean }>("SELECT id, synced_at IS NOT NULL AS synced FROM outbox WHERE kind = 'revoked'")).rows;
  await eventually(async () => (await revocations()).every((r) => r.synced), 30_000, 'every revocation queued');
  const rows = await revocations();
  assert.ok(rows.length >= logouts);
  let states: string[] = [];
  await eventually(
    async () => {
      states = await Promise.all(
        rows.map(async (r) => `${await queue.getJobState(`outbox-${r.id}`)} ${(await queue.getJob(`outbox-${r.id}`))?.failedReason ?? ''}`),
      );
      return states.every((st) => st.startsWith('completed'));
    },
    30_000,
    () => `every cache-sync job to complete (${states.join(',')})`,
  );
  return rows.length;
}
