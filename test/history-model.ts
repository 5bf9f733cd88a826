/**
 * What a client of a multi-region cluster legitimately holds, and the rules a
 * history of its requests must keep (API.md, docs/multi-region.md). The
 * driver in history.test.ts records every answer here; this module decides
 * which answers broke a rule and writes them up with the op log of the
 * session they concern. Refresh tokens stay opaque: they are compared as
 * strings and printed only as labels (S3#2: session 3's third token).
 */

/** A small seeded generator (mulberry32): the same seed gives the same choices. */
export class Prng {
  constructor(private state: number) {}
  next(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  between(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
}

/** The seed from MERIDIAN_HISTORY_SEED, else a fresh one (printed, so a failure reproduces). */
export function historySeed(fromEnv: string | undefined): number {
  if (fromEnv !== undefined && fromEnv !== '') {
    const n = Number(fromEnv);
    if (!Number.isInteger(n)) throw new Error(`MERIDIAN_HISTORY_SEED must be an integer, got ${fromEnv}`);
    return n >>> 0;
  }
  return Math.floor(Math.random() * 2 ** 32) >>> 0;
}

/** One HTTP answer, reduced to what the rules look at. */
export interface Answer {
  status: number;
  error?: string;
  retryAfter?: string;
  /** X-Meridian-Region: the region whose state produced the answer. */
  servedBy?: string;
  refreshToken?: string;
  accessToken?: string;
  expiresIn?: number;
  /** How long the answer took, wall-clock ms. */
  ms: number;
}

export interface LogEntry {
  n: number;
  /** Virtual time (the regions' shared clock), ms since the history began. */
  at: number;
  /** Wall time since the history began, ms. */
  wall: number;
  text: string;
  /** Sessions the entry concerns. */
  sessions: string[];
  /** A link cut or healed: it concerns every session. */
  link: boolean;
}

export interface Session {
  label: string;
  user: string;
  /** The region that served the login: the family's origin. */
  origin: string;
  /** Every refresh token of the family seen so far, in order; a token's index is its label. */
  tokens: string[];
  current: string;
  access: string;
  accessExpiresAt: number;
  /** The token the last rotation consumed, and when: a retry of it inside the window gets `current` again. */
  prev?: { token: string; at: number };
  /**
   * Set when the session must be refused everywhere once replication settles; `rule` names the promise.
   * `spentCopy`: a double spend replication need not find; the family ends once the branch that
   * lost presents its copy (`token`, at `region`), which is reuse.
   */
  ended?: { why: string; rule: string; spentCopy?: { token: string; region: string } };
  /** Set when the client no longer holds it legitimately (an old token was replayed). */
  burned?: string;
  /** A refresh of `current` timed out into a 503 at this time: the origin may have consumed it. */
  uncertainAt?: number;
}

export interface Violation {
  rule: string;
  session?: string;
  message: string;
}

interface Acceptance {
  at: number;
  servedBy: string;
  successor: string;
  n: number;
}

export class HistoryModel {
  readonly sessions: Session[] = [];
  readonly log: LogEntry[] = [];
  readonly violations: Violation[] = [];
  private readonly accepted = new Map<string, Acceptance[]>();
  private readonly mintedBy = new Map<string, string>();
  private readonly ownerOf = new Map<string, Session>();
  private readonly startWall = performance.now();

  constructor(
    private readonly graceMs: number,
    private readonly clock: { now(): number },
    private readonly start = clock.now(),
  ) {}

  note(text: string, sessions: Session[] = [], link = false): void {
    this.log.push({
      n: this.log.length,
      at: this.clock.now() - this.start,
      wall: Math.round(performance.now() - this.startWall),
      text,
      sessions: sessions.map((s) => s.label),
      link,
    });
  }

  label(token: string | undefined): string {
    if (token === undefined) return '-';
    const s = this.ownerOf.get(token);
    return s ? `${s.label}#${s.tokens.indexOf(token)}` : 'unknown token';
  }

  /** A legitimate client holds the session's latest tokens: not ended, not replayed. */
  legit(s: Session): boolean {
    return s.ended === undefined && s.burned === undefined;
  }

  violate(rule: string, s: Session | undefined, message: string): void {
    this.violations.push({ rule, session: s?.label, message: `op ${this.log.length - 1}: ${message}` });
  }

  /** The rules every answer keeps, whatever was asked. */
  checkAnswer(what: string, a: Answer, s?: Session): void {
    if (a.status >= 500 && a.status !== 503) this.violate('server-error', s, `${what}: ${a.status} ${a.error ?? ''}`);
    if (a.status === 503 && !(Number(a.retryAfter) > 0))
      this.violate('503-without-retry-after', s, `${what}: 503 with Retry-After ${a.retryAfter ?? 'absent'}`);
  }

  openSession(user: string, a: Answer): Session {
    const s: Session = {
      label: `S${this.sessions.length}`,
      user,
      origin: a.servedBy ?? '?',
      tokens: [],
      current: a.refreshToken!,
      access: a.accessToken!,
      accessExpiresAt: this.clock.now() + a.expiresIn! * 1000,
    };
    this.sessions.push(s);
    this.adopt(s, a.refreshToken!, a.servedBy);
    return s;
  }

  /** Takes a token into the session's list (its label is its index there); a known token stays as it was. */
  adopt(s: Session, token: string, servedBy: string | undefined): void {
    if (this.ownerOf.has(token)) return;
    s.tokens.push(token);
    this.ownerOf.set(token, s);
    this.mintedBy.set(token, servedBy ?? '?');
  }

  /**
   * A 200 of a refresh: every acceptance is kept by token and time. Two inside the grace window
   * must carry one successor; two outside it are a double spend, which one region never allows
   * and two regions may (a stale replica) only if the family then ends everywhere.
   */
  recordAccepted(s: Session, token: string, a: Answer): void {
    const now = this.clock.now();
    const servedBy = a.servedBy ?? '?';
    const successor = a.refreshToken!;
    this.adopt(s, successor, servedBy);
    const earlier = this.accepted.get(token) ?? [];
    for (const e of earlier) {
      const gap = now - e.at;
      const what = `${this.label(token)} accepted by ${servedBy} and ${gap} ms before by ${e.servedBy} (op ${e.n})`;
      if (gap <= this.graceMs) {
        if (e.successor !== successor)
          this.violate('grace-different-successor', s, `${what}: successors ${this.label(e.successor)} and ${this.label(successor)}`);
      } else if (e.servedBy === servedBy) {
        this.violate('accepted-twice', s, `${what}, outside the ${this.graceMs} ms grace window, by one region`);
      } else {
        s.ended ??= this.doubleSpent(s, `double spend of ${this.label(token)} by ${e.servedBy} and ${servedBy}`, successor, servedBy);
      }
    }
    earlier.push({ at: now, servedBy, successor, n: this.log.length });
    this.accepted.set(token, earlier);
  }

  /**
   * What a double spend (the second acceptance minting `successor` at `region`) promises. The
   * replication check compares the generation each side holds, and the one before, with the
   * other's, so it finds the spend only while the first branch has rotated past the successor both
   * minted at most once (docs/multi-region.md, "Double spend"). Further past, the family may live
   * on at that branch's generation; the other branch's copy of the successor is then a spent token,
   * and presenting it is reuse, which must end the family everywhere. A family has one token per
   * generation (successors are deterministic) and takes them in the order they are minted, so the
   * distance is between indices.
   */
  private doubleSpent(s: Session, why: string, successor: string, region: string): NonNullable<Session['ended']> {
    const past = s.tokens.length - 1 - s.tokens.indexOf(successor);
    if (past < 2) return { why, rule: 'double-spend-survived' };
    return { why: `${why}, ${past} rotations past the check`, rule: 'double-spend-reuse-not-revoked', spentCopy: { token: successor, region } };
  }

  /** An invalid_grant for a token the client holds legitimately, named by the pattern it fits. */
  refusedLegit(s: Session, token: string, a: Answer, what: string): void {
    const minted = this.mintedBy.get(token) ?? '?';
    // A successor refused by a region other than the one that minted it may simply not have reached
    // that region yet: the known pattern, split by who minted it. Refused where it was minted is another fault.
    let rule = 'legit-invalid-grant';
    if (a.servedBy !== minted) rule += minted === s.origin ? '/successor-unknown-at-replica' : '/successor-minted-by-replica';
    this.violate(rule, s, `${what}: ${this.label(token)} (origin ${s.origin}, minted by ${minted}) refused by ${a.servedBy ?? '?'}`);
  }

  /** When the token was last accepted (undefined: never). */
  lastAcceptedAt(token: string): number | undefined {
    return this.accepted.get(token)?.at(-1)?.at;
  }

  /** Whether the region that decided a replay had itself accepted or minted the token. */
  decidedByWitness(token: string, servedBy: string | undefined): boolean {
    return this.mintedBy.get(token) === servedBy || (this.accepted.get(token) ?? []).some((e) => e.servedBy === servedBy);
  }

  /** The op log of one session: its own entries, and the link cuts and heals while it was in use. */
  sessionLog(label: string): string {
    const own = this.log.filter((e) => e.sessions.includes(label));
    if (own.length === 0) return '  (no entries)';
    const [first, last] = [own[0]!.n, own.at(-1)!.n];
    return this.log
      .filter((e) => e.sessions.includes(label) || (e.link && e.n > first && e.n < last))
      .map((e) => `  #${e.n} t=${e.at}ms wall=${e.wall}ms ${e.text}`)
      .join('\n');
  }

  /** Every violation, grouped by rule, a few of each with their session's op log. */
  report(seed: number): string {
    const byRule = new Map<string, Violation[]>();
    for (const v of this.violations) byRule.set(v.rule, [...(byRule.get(v.rule) ?? []), v]);
    const out = [`history seed ${seed} (rerun: MERIDIAN_HISTORY_SEED=${seed}); ${this.violations.length} violation(s):`];
    for (const [rule, vs] of byRule) out.push(`  ${rule}: ${vs.length} (sessions ${[...new Set(vs.map((v) => v.session ?? '-'))].join(' ')})`);
    out.push('', 'every violation:', ...this.violations.map((v) => `  [${v.rule}] ${v.session ?? ''} ${v.message}`));
    for (const [rule, vs] of byRule) {
      // The first violation of each of two sessions: two views of one rule say more than one twice.
      const firsts = vs.filter((v, i) => v.session === undefined || vs.findIndex((o) => o.session === v.session) === i);
      for (const v of firsts.slice(0, 2)) {
        out.push('', `[${rule}] ${v.session ?? ''} ${v.message}`);
        if (v.session) out.push(this.sessionLog(v.session));
      }
    }
    return out.join('\n');
  }
}
