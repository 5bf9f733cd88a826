import { slotOfId } from '../util/slots.js';
import { AppError, misconfigured, unavailable } from '../errors.js';
import type { RefreshFailure, RefreshPath, RequestContext } from '../observability/audit.js';
import { newId } from '../util/runtime.js';
import type { AccessSubject } from './access-tokens.js';
import { decodeCompact } from './jws.js';
import { cachedDecisionStands, decideRefresh, idleExpiry, type RefreshRules } from './refresh-policy.js';
import { mintRefreshToken, type TokenRef } from './refresh-tokens.js';
import { resolvePresented } from './presented-token.js';
import { SessionEndings } from './session-endings.js';
import { checkLoginProof, checkRefreshBinding } from './dpop-binding.js';
import type { RemoteRegions, Served } from './regions.js';
import type { SessionDeps } from './session-deps.js';
import type { RefreshState } from './stores.js';
import type { LogoutOptions, TokenResponse } from './token-response.js';
import type { AccessClaims } from './verifier.js';

export type { LogoutOptions, TokenResponse };

export type { RevocationSink, SessionDeps, SessionSettings } from './session-deps.js';

/** The subject of an access token another region issued (it came over the authenticated peer link). */
function subjectOf(accessToken: string): string | undefined {
  const sub = decodeCompact(accessToken)?.payload.sub;
  return typeof sub === 'string' ? sub : undefined;
}

/** The user agent kept with a session is cut here: a header may be kilobytes long, a session list needs far less. */
const USER_AGENT_MAX_LENGTH = 256;

/** The client a session records: the request's user agent (bounded) and address. */
function clientOf(ctx: RequestContext): { userAgent?: string; ip?: string } {
  return { userAgent: ctx.userAgent?.slice(0, USER_AGENT_MAX_LENGTH), ip: ctx.ip };
}

// A rotation that loses a race re-reads the state; more losses than this in a row mean contention, not a client error.
const MAX_ROTATION_ATTEMPTS = 3;

/** Sessions and their refresh-token families: login, refresh with rotation, logout. */
export class SessionService {
  private readonly endings: SessionEndings;

  constructor(private readonly d: SessionDeps) {
    this.endings = new SessionEndings(d);
  }

  /** `jkt`: the thumbprint of the key of the request's verified DPoP proof, to which the session is bound. */
  async login(username: string, password: string, ctx: RequestContext, jkt?: string): Promise<Served<TokenResponse>> {
    const user = await this.d.accounts.authenticate(username, password, ctx);
    if ('homeRegion' in user) return this.remote().login(user.homeRegion, username, password, ctx, jkt);
    checkLoginProof(jkt, this.d.settings.requireDpop);
    const { settings: s, clock } = this.d;
    const now = clock.now();
    // The user's slot: all of a user's sessions live on the user's shard ("log out everywhere" is one shard).
    const sessionId = newId(s.region, clock, this.d.random, slotOfId(user.id) ?? 0);
    const expiresAt = now + s.refreshTtlSeconds * 1000;
    const created = await this.d.sessions.create({
      id: sessionId,
      userId: user.id,
      region: s.region,
      now,
      expiresAt,
      checkedPasswordHash: user.passwordHash,
      ...clientOf(ctx),
      jkt,
    });
    // The password was changed or the account disabled while it was being checked: this login is of the old account.
    if (!created) {
      this.d.audit('login.failed', { userId: user.id, reason: 'bad_credentials', detail: 'changed_during_login' }, ctx);
      throw new AppError('invalid_grant', { reason: 'account changed during login', description: 'Invalid username or password.' });
    }
    this.d.audit('login.succeeded', { userId: user.id, sessionId }, ctx);
    const token = mintRefreshToken({ sessionId, generation: 0 }, s.rotationKey);
    const subject = { userId: user.id, username: user.username, sessionId, jkt: jkt ?? null };
    return this.here(this.respond(subject, token, idleExpiry({ rotatedAt: now, expiresAt }, this.rules)));
  }

  /**
   * Rotates a refresh token: what it stands for (no I/O for a forged one),
   * then guard clauses in `decideRefresh`, then one compare-and-set of the
   * session row. A lost race re-reads the state and decides again, which
   * turns the losers of a parallel refresh into grace-window retries.
   */
  async refresh(token: string, ctx: RequestContext, jkt?: string): Promise<Served<TokenResponse>> {
    const presented = await this.resolve(token);
    if (!presented) return this.reject('malformed', ctx);
    const { origin, ref } = presented;
    if (!ref) return this.undecidedHere(origin, token, null, ctx, jkt);
    // A session this region ended, or was told of ending, is refused here, held here or not: a
    // logout this region answered is never undone by asking an origin that has not heard of it yet.
    if (this.d.revocations.has(ref.sessionId)) return this.reject('revoked', ctx, null, ref.sessionId);
    let consistent = false;
    for (let attempt = 0; attempt < MAX_ROTATION_ATTEMPTS; attempt++) {
      const state = await this.d.sessions.findSession(ref.sessionId, { consistent });
      // Before any decision: a bound token without its key must neither rotate nor count as reuse.
      if (state) this.checkBinding(state, jkt, ctx);
      const now = this.d.clock.now();
      const decision = decideRefresh(state, ref.generation, now, this.rules);
      // Only a read of the source of truth decides everything; see cachedDecisionStands.
      if (!consistent && state?.source === 'cache' && !cachedDecisionStands(decision)) {
        consistent = true;
        continue;
      }
      // Not held here: only its origin can decide (never a guessed invalid_grant).
      if (!state) return this.undecidedHere(origin, token, ref, ctx, jkt);
      // A replica shown a generation it has not heard of does not mint from it: the origin may know
      // the token as spent (a thief replaying it here), so the origin decides.
      if (decision.kind === 'rotate' && decision.ahead && state.region !== this.d.settings.region && this.d.remote && !ctx.forwardedBy)
        return this.undecidedHere(origin, token, ref, ctx, jkt);
      if (decision.kind === 'reject') return this.reject(decision.reason, ctx, state);
      if (decision.kind === 'reuse') return this.revokeOnReuse(state, ctx);
      if (decision.kind === 'grace') {
        this.d.audit('token.refreshed', { userId: state.userId, sessionId: state.sessionId, reason: 'grace', path: this.pathOf(state) }, ctx);
        return this.here(this.respond(state, this.mint(state.sessionId, decision.generation), idleExpiry(state, this.rules)));
      }
      if (await this.d.sessions.rotate({ from: state, generation: decision.next, now, jkt })) {
        const { userId, sessionId } = state;
        this.d.audit('token.refreshed', { userId, sessionId, reason: 'rotated', path: this.pathOf(state), ...(decision.ahead && { ahead: true }) }, ctx);
        const subject = { ...state, jkt: state.jkt ?? jkt ?? null };
        return this.here(this.respond(subject, this.mint(sessionId, decision.next), idleExpiry({ rotatedAt: now, expiresAt: state.expiresAt }, this.rules)));
      }
      // Lost a race (or the cache was stale): decide again from the source of truth.
      consistent = true;
    }
    throw unavailable('database', new Error('refresh rotation kept losing races'), 1);
  }

  private resolve(token: string) {
    return resolvePresented(token, this.d.settings.rotationKey, this.d.sessions);
  }

  /** A token of a session this region does not hold: its origin decides, or, at the origin, it is unknown. */
  private async undecidedHere(origin: string, token: string, ref: TokenRef | null, ctx: RequestContext, jkt?: string): Promise<Served<TokenResponse>> {
    if (origin === this.d.settings.region || !this.d.remote || ctx.forwardedBy) return this.reject('unknown', ctx);
    const answer = await this.d.remote.refresh(origin, token, ctx, jkt);
    const userId = ref && subjectOf(answer.value.access_token);
    // Ended here by a "log out everywhere" that the origin has not heard of yet: refused here, and ended there now.
    if (ref && userId && (await this.d.accounts.endedByMark(userId, ref.sessionId))) {
      this.d.revocations.add(ref.sessionId);
      await this.d.remote.logout(origin, { userId, sessionId: ref.sessionId }, ctx).catch(() => {});
      return this.reject('revoked', ctx);
    }
    return answer;
  }

  private get rules(): RefreshRules {
    return { graceMs: this.d.settings.graceSeconds * 1000, idleMs: this.d.settings.refreshIdleSeconds * 1000 };
  }

  private mint(sessionId: string, generation: number): string {
    return mintRefreshToken({ sessionId, generation }, this.d.settings.rotationKey);
  }

  /** Logout (see SessionEndings). */
  logout(claims: Pick<AccessClaims, 'sub' | 'sid'>, opts: LogoutOptions, ctx: RequestContext): Promise<Served<string[]>> {
    return this.endings.logout(claims, opts, ctx);
  }

  /** RFC 7009 revocation of a refresh token (see SessionEndings). */
  revokeRefreshToken(token: string, ctx: RequestContext, jkt?: string): Promise<Served<void>> {
    return this.endings.revokeRefreshToken(token, ctx, jkt);
  }

  /** Ends a session by its id (see SessionEndings). */
  revokeSession(owner: { sessionId: string; userId: string }, ctx: RequestContext): Promise<Served<void>> {
    return this.endings.revokeSession(owner, ctx);
  }

  /** An answer this region gave from its own state. */
  private here<T>(value: T): Served<T> {
    return { value, servedBy: this.d.settings.region };
  }

  private remote(): RemoteRegions {
    // Only a multi-region directory places a user elsewhere, and it comes with RemoteRegions.
    if (!this.d.remote) throw misconfigured('a user lives in another region but no other region is configured');
    return this.d.remote;
  }

  /**
   * The state of a refresh token that could be redeemed right now (RFC 7662):
   * neither consumed, revoked nor expired, its user enabled. Null otherwise.
   * A token inside its grace window is consumed, so it is not live.
   */
  async liveRefreshToken(token: string): Promise<{ state: RefreshState; expiresAt: number } | null> {
    const ref = (await this.resolve(token))?.ref;
    if (!ref) return null;
    const state = await this.d.sessions.findSession(ref.sessionId, { consistent: true });
    const now = this.d.clock.now();
    const decision = decideRefresh(state, ref.generation, now, { ...this.rules, graceMs: 0 });
    if (!state || decision.kind !== 'rotate') return null;
    // A token ahead of this copy was minted moments ago elsewhere: its idle clock starts about now.
    return { state, expiresAt: idleExpiry(decision.ahead ? { rotatedAt: now, expiresAt: state.expiresAt } : state, this.rules) };
  }

  /** Where a decision's state came from; a family of another region held here is a replica. */
  private pathOf(s: RefreshState): RefreshPath {
    return s.region !== this.d.settings.region ? 'replica' : (s.source ?? 'db');
  }

  /** A consumed token came back: the whole family is revoked, its live child included. */
  private async revokeOnReuse(s: RefreshState, ctx: RequestContext): Promise<never> {
    const now = this.d.clock.now();
    await this.d.sessions.revoke(s.sessionId, s.userId, now, 'reuse');
    this.d.revocations.add(s.sessionId, now);
    this.d.audit('token.reuse_detected', { userId: s.userId, sessionId: s.sessionId, cause: 'outside_grace', path: this.pathOf(s) }, ctx);
    throw new AppError('invalid_grant', { reason: 'refresh token reuse' });
  }

  /** A cached unbound state may be stale; rotate-refresh.sql re-checks the binding in the write. */
  private checkBinding(s: RefreshState, jkt: string | undefined, ctx: RequestContext): void {
    try {
      checkRefreshBinding(s.jkt, jkt, this.d.settings.requireDpop);
    } catch (err) {
      this.d.audit('token.refresh_failed', { userId: s.userId, sessionId: s.sessionId, reason: 'dpop_proof', path: this.pathOf(s) }, ctx);
      throw err;
    }
  }

  /** `sessionId`: the session a token names, for the audit line, where no state of it was read. */
  private reject(reason: RefreshFailure, ctx: RequestContext, s?: RefreshState | null, sessionId = s?.sessionId): never {
    this.d.audit('token.refresh_failed', { userId: s?.userId, sessionId, reason, path: s ? this.pathOf(s) : undefined }, ctx);
    throw new AppError('invalid_grant', { reason });
  }

  private respond(subject: AccessSubject, refreshToken: string, refreshExpiresAt: number): TokenResponse {
    return {
      access_token: this.d.access.issue(subject),
      token_type: subject.jkt ? 'DPoP' : 'Bearer',
      expires_in: this.d.access.ttlSeconds,
      refresh_token: refreshToken,
      refresh_expires_in: Math.max(0, Math.floor((refreshExpiresAt - this.d.clock.now()) / 1000)),
    };
  }
}
