/**
 * A seeded random history on three real regions (eu-west the hub and the
 * directory, us-east and ap-southeast its peers): registrations, logins,
 * refreshes, retries inside the grace window, replays of rotated tokens and
 * logouts (one session, every session) at random regions, while the TCP
 * proxies in front of the regions are cut and healed at random. Checked
 * along the way: no 500, every 503 with Retry-After, no invalid_grant for a
 * token the client legitimately held (503 where its family cannot be decided),
 * one successor per token inside the grace window, no token accepted twice
 * outside it by one region, and a region that answered a logout with 204
 * refusing the ended sessions at once. Checked once every link is healed and
 * replication has settled: every ended session (logged out, replayed, spent
 * in two regions) is refused in every region, by refresh token and by access
 * token, and every other session still refreshes. A double spend past what
 * replication finds (history-model.ts, doubleSpent) must end the family once
 * the losing branch presents its spent copy.
 *
 * MERIDIAN_HISTORY_SEED reruns one history (the choices repeat; replication
 * timing may differ), MERIDIAN_HISTORY_OPS sets its length.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { bearer, PASSWORD } from './helpers.js';
import { acceptedAccess, ask, failedReplications, settle, shown } from './history-cluster.js';
import { type Answer, HistoryModel, historySeed, Prng, type Session } from './history-model.js';
import { type RegionSet, startHub } from './regions-harness.js';

const REGIONS = ['eu-west', 'us-east', 'ap-southeast'] as const;
const OPS = Number(process.env.MERIDIAN_HISTORY_OPS ?? 300);
if (!Number.isInteger(OPS) || OPS < 1) throw new Error(`MERIDIAN_HISTORY_OPS must be a positive integer, got ${process.env.MERIDIAN_HISTORY_OPS}`);
const GRACE_MS = 10_000;
/** MERIDIAN_REGION_TIMEOUT_MS in the harness. */
const REGION_TIMEOUT_MS = 1500;
/** Keeps retries clearly inside the window and replays clearly outside it, whatever rounding the server does. */
const MARGIN_MS = 1000;

type OpKind = 'register' | 'login' | 'refresh' | 'retry' | 'replay' | 'logout' | 'logoutAll';

describe('a random multi-region history', () => {
  let set: RegionSet;
  const seed = historySeed(process.env.MERIDIAN_HISTORY_SEED);
  const rng = new Prng(seed);
  const users: string[] = [];
  const cut = new Set<string>();
  /** Wall time per kind of operation, for the run-time diagnostic. */
  const spent = new Map<string, number>();
  let model: HistoryModel;

  const app = (id: string) => set.nodes[id]!.t.app;
  const now = () => set.clock.now();
  const call = (region: string, url: string, body: unknown, headers: Record<string, string> = {}) => ask(app(region), url, body, headers);
  const unexpected = (what: string, a: Answer, s?: Session) => model.violate('unexpected-answer', s, `${what}: ${shown(a)}`);
  const refreshAt = (region: string, token: string) => call(region, '/v1/auth/refresh', { refresh_token: token });
  /** A refresh of one of the session's tokens; a successor it brings is labelled before it is logged. */
  const send = async (region: string, s: Session, token: string) => {
    const a = await refreshAt(region, token);
    if (a.status === 200 && a.refreshToken) model.adopt(s, a.refreshToken, a.servedBy);
    return a;
  };
  const successor = (a: Answer) => (a.refreshToken ? ` -> ${model.label(a.refreshToken)}` : '');
  const takeTokens = (s: Session, a: Answer) => {
    s.access = a.accessToken!;
    s.accessExpiresAt = now() + a.expiresIn! * 1000;
  };

  async function register(region: string): Promise<void> {
    const name = `traveller-${users.length}`;
    const a = await call(region, '/v1/auth/register', { username: name, password: PASSWORD });
    model.note(`register ${name} at ${region}: ${shown(a)}`);
    model.checkAnswer('register', a);
    if (a.status === 201) users.push(name);
    else if (a.status !== 503) unexpected(`register ${name}`, a);
  }

  async function login(region: string, user: string): Promise<void> {
    const a = await call(region, '/v1/auth/login', { username: user, password: PASSWORD });
    const s = a.status === 200 ? model.openSession(user, a) : undefined;
    model.note(`login ${user} at ${region}: ${shown(a)}${s ? ` -> ${s.label}, ${model.label(s.current)}` : ''}`, s ? [s] : []);
    model.checkAnswer('login', a, s);
    if (a.status === 400 && a.error === 'invalid_grant') model.violate('legit-login-refused', undefined, `login of ${user} at ${region}: ${shown(a)}`);
    else if (a.status !== 200 && a.status !== 503) unexpected(`login ${user}`, a);
  }

  async function refresh(region: string, s: Session): Promise<void> {
    const token = s.current;
    const a = await send(region, s, token);
    model.note(`refresh ${model.label(token)} at ${region}: ${shown(a)}${successor(a)}`, [s]);
    model.checkAnswer('refresh', a, s);
    if (a.status === 200) {
      model.recordAccepted(s, token, a);
      s.prev = { token, at: now() };
      s.current = a.refreshToken!;
      s.uncertainAt = undefined;
      takeTokens(s, a);
    } else if (a.status === 503) {
      // A refused connection answers at once and consumed nothing; a call that ran into the region
      // timeout may have rotated the token at the origin, with the answer lost.
      if (a.ms >= REGION_TIMEOUT_MS / 2) s.uncertainAt ??= now();
    } else if (a.error === 'invalid_grant') {
      // A 503 may have hidden a rotation at the origin; past the window the token is spent for good.
      if (s.uncertainAt !== undefined && now() - s.uncertainAt > GRACE_MS) model.note(`  (${model.label(token)} may have been spent behind the 503)`, [s]);
      else model.refusedLegit(s, token, a, `refresh at ${region}`);
    } else unexpected(`refresh of ${model.label(token)}`, a, s);
  }

  /** The answer to the last rotation was "lost": the client sends the consumed token again, inside the window. */
  async function retry(region: string, s: Session): Promise<void> {
    const token = s.prev!.token;
    const a = await send(region, s, token);
    model.note(`retry ${model.label(token)} at ${region} (${now() - s.prev!.at} ms after its rotation): ${shown(a)}${successor(a)}`, [s]);
    model.checkAnswer('retry', a, s);
    if (a.status === 200) {
      model.recordAccepted(s, token, a);
      if (a.refreshToken !== s.current)
        model.violate('grace-different-successor', s, `retry of ${model.label(token)} got ${model.label(a.refreshToken)}, not ${model.label(s.current)}`);
      takeTokens(s, a);
    } else if (a.error === 'invalid_grant') model.refusedLegit(s, token, a, `retry inside the grace window at ${region}`);
    else if (a.status !== 503) unexpected(`retry of ${model.label(token)}`, a, s);
  }

  /** Someone presents a rotated token after the window: reuse, which must end the session everywhere. */
  async function replay(region: string, s: Session, token: string): Promise<void> {
    const a = await send(region, s, token);
    s.burned = `replay of ${model.label(token)}`;
    model.note(`replay ${model.label(token)} at ${region}: ${shown(a)}${successor(a)}`, [s]);
    model.checkAnswer('replay', a, s);
    if (a.status === 200) model.recordAccepted(s, token, a);
    else if (a.error === 'invalid_grant') {
      const witness = model.decidedByWitness(token, a.servedBy);
      // A region that never saw the token cannot tell a rotated one from a forged one with today's token rows.
      s.ended ??= { why: `replay of ${model.label(token)} refused by ${a.servedBy}`, rule: witness ? 'reuse-not-revoked' : 'reuse-unseen-not-revoked' };
    } else if (a.status !== 503) unexpected(`replay of ${model.label(token)}`, a, s);
  }

  async function logout(region: string, s: Session, all: boolean): Promise<void> {
    const a = await call(region, '/v1/auth/logout', all ? { all_sessions: true } : {}, bearer(s.access));
    const ending = all ? model.sessions.filter((o) => o.user === s.user && o.ended === undefined) : [s];
    model.note(`logout${all ? ' all_sessions' : ''} with ${s.label}'s access token at ${region}: ${shown(a)}`, a.status === 204 ? ending : [s]);
    model.checkAnswer('logout', a, s);
    if (a.status === 401) model.violate('legit-access-refused', s, `logout at ${region}: ${shown(a)}`);
    if (a.status !== 204) {
      if (a.status !== 503 && a.status !== 401) unexpected('logout', a, s);
      return;
    }
    for (const o of ending) o.ended = { why: `${all ? 'logout of every session' : 'logout'} at ${region}`, rule: 'ended-session-alive' };
    // The region that answered 204 refuses the ended sessions at once (it reads its own write).
    for (const o of ending) {
      const check = await send(region, o, o.current);
      model.note(`  then refresh ${model.label(o.current)} at ${region}: ${shown(check)}`, [o]);
      model.checkAnswer('refresh after logout', check, o);
      if (check.status === 200)
        model.violate('logout-not-read-own-write', o, `${model.label(o.current)} refreshed at ${region}, served by ${check.servedBy}, right after the 204`);
      else if (check.status !== 503 && check.error !== 'invalid_grant') unexpected('refresh after logout', check, o);
    }
  }

  function replayable(s: Session): string[] {
    return s.tokens.filter((t) => {
      const at = model.lastAcceptedAt(t);
      return t !== s.current && at !== undefined && now() - at > GRACE_MS + MARGIN_MS;
    });
  }

  function weighted(options: [OpKind, number][]): OpKind {
    let r = rng.next() * options.reduce((sum, [, w]) => sum + w, 0);
    for (const [kind, w] of options) {
      r -= w;
      if (r < 0) return kind;
    }
    return options[0]![0];
  }

  async function step(): Promise<void> {
    if (rng.chance(0.06)) {
      const region = rng.pick(REGIONS);
      if (cut.has(region)) {
        cut.delete(region);
        set.nodes[region]!.proxy.heal();
        model.note(`heal ${region}`, [], true);
      } else if (cut.size < 2) {
        cut.add(region);
        set.nodes[region]!.proxy.cut();
        model.note(`cut ${region}`, [], true);
      }
    }
    // Sometimes replication gets time to catch up; mostly the client is faster than it.
    if (rng.chance(0.1)) await sleep(rng.between(20, 300));
    set.clock.advance(rng.chance(0.04) ? rng.between(GRACE_MS + MARGIN_MS, 2 * GRACE_MS) : rng.between(0, 1200));

    const live = model.sessions.filter((s) => model.legit(s));
    const usable = live.filter((s) => s.accessExpiresAt - now() > 60_000);
    const retryable = live.filter((s) => s.prev && now() - s.prev.at <= GRACE_MS - MARGIN_MS);
    const replays = live.filter((s) => replayable(s).length > 0);
    const kind = weighted([
      // Registrations and logins cost an argon2 hash each: few of them keep the run short.
      ['register', users.length < 3 ? 30 : users.length < 6 ? 2 : 0],
      ['login', users.length === 0 ? 0 : live.length < 3 ? 30 : 8],
      ['refresh', live.length ? 40 : 0],
      ['retry', retryable.length ? 12 : 0],
      ['replay', replays.length ? 3 : 0],
      ['logout', usable.length ? 6 : 0],
      ['logoutAll', usable.length ? 2 : 0],
    ]);
    const region = rng.pick(REGIONS);
    const began = performance.now();
    await run(kind, region, live, retryable, replays, usable);
    spent.set(kind, (spent.get(kind) ?? 0) + performance.now() - began);
  }

  async function run(kind: OpKind, region: string, live: Session[], retryable: Session[], replays: Session[], usable: Session[]): Promise<void> {
    if (kind === 'register') return register(region);
    if (kind === 'login') return login(region, rng.pick(users));
    if (kind === 'refresh') return refresh(region, rng.pick(live));
    if (kind === 'retry') return retry(region, rng.pick(retryable));
    if (kind === 'replay') {
      const s = rng.pick(replays);
      return replay(region, s, rng.pick(replayable(s)));
    }
    return logout(region, rng.pick(usable), kind === 'logoutAll');
  }

  /** The losing branch of each double spend replication need not find presents its spent copy: reuse. */
  async function presentSpentCopies(): Promise<void> {
    const spent = model.sessions.filter((s) => s.ended?.spentCopy);
    for (const s of spent) {
      const { token, region } = s.ended!.spentCopy!;
      const a = await refreshAt(region, token);
      model.note(`settled: the other branch presents ${model.label(token)} of ${s.label} at ${region}: ${shown(a)}`, [s]);
      model.checkAnswer('spent copy', a, s);
      if (a.error !== 'invalid_grant') model.violate(s.ended!.rule, s, `${s.label} (${s.ended!.why}): spent ${model.label(token)} at ${region}: ${shown(a)}`);
    }
    // The revocation that reuse makes replicates like any other before the family is checked everywhere.
    if (spent.length > 0) await settle(set);
  }

  async function checkSettled(): Promise<void> {
    await presentSpentCopies();
    const refused: Session[] = [];
    for (const s of model.sessions) {
      if (s.ended === undefined) continue;
      let alive = false;
      const latest = [...new Set([s.current, s.tokens.at(-1)!])];
      for (const region of REGIONS)
        for (const token of latest) {
          const a = await refreshAt(region, token);
          model.note(`settled: refresh ${model.label(token)} of ended ${s.label} at ${region}: ${shown(a)}`, [s]);
          model.checkAnswer('settled refresh', a, s);
          if (a.error === 'invalid_grant') continue;
          alive = true;
          model.violate(s.ended.rule, s, `${s.label} (${s.ended.why}): ${model.label(token)} at ${region}: ${shown(a)}`);
        }
      if (!alive) refused.push(s);
    }
    for (const where of await acceptedAccess(set, refused)) model.violate('ended-access-alive', undefined, `the access token of ${where} still accepted`);
    for (const s of model.sessions.filter((o) => model.legit(o))) await refresh(rng.pick(REGIONS), s);
  }

  before(async () => {
    set = await startHub();
    model = new HistoryModel(GRACE_MS, set.clock);
  });
  after(() => set?.close());

  it(`keeps every rule through ${OPS} random operations with links cut and healed`, async (ctx) => {
    const started = performance.now();
    ctx.diagnostic(`seed ${seed} (MERIDIAN_HISTORY_SEED=${seed} reruns it)`);
    try {
      for (let i = 0; i < OPS; i++) await step();
      for (const region of cut) set.nodes[region]!.proxy.heal();
      cut.clear();
      model.note('heal every link', [], true);
      const settling = performance.now();
      const failedBefore = await failedReplications(set);
      await settle(set);
      spent.set('settle', performance.now() - settling);
      ctx.diagnostic(`replication calls that failed while settling: ${(await failedReplications(set)) - failedBefore}`);
      const checking = performance.now();
      await checkSettled();
      spent.set('final checks', performance.now() - checking);
    } catch (err) {
      throw new Error(
        `history seed ${seed}: ${(err as Error).message}\n${model.log
          .slice(-30)
          .map((e) => `  #${e.n} ${e.text}`)
          .join('\n')}`,
        { cause: err },
      );
    }
    ctx.diagnostic(`${OPS} operations, ${model.sessions.length} sessions, ${users.length} users in ${Math.round(performance.now() - started)} ms`);
    ctx.diagnostic(`wall ms by kind: ${[...spent].map(([k, ms]) => `${k} ${Math.round(ms)}`).join(', ')}`);
    if (model.violations.length > 0) assert.fail(model.report(seed));
  });
});
