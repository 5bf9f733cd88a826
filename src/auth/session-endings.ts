import { misconfigured } from '../errors.js';
import type { RequestContext } from '../observability/audit.js';
import { regionOf } from '../util/runtime.js';
import { checkRevocationProof } from './dpop-binding.js';
import { resolvePresented } from './presented-token.js';
import type { TokenRef } from './refresh-tokens.js';
import type { RemoteRegions, Served } from './regions.js';
import type { SessionDeps } from './session-deps.js';
import type { LogoutOptions } from './token-response.js';
import type { AccessClaims } from './verifier.js';

/**
 * How sessions end on a user's or a client's request: logout (one session,
 * another named by refresh token, or all of them) and RFC 7009 revocation.
 * A session is ended where it is held (origin or replica) and, where it is
 * not, at its origin; either way this process refuses its tokens at once.
 */
export class SessionEndings {
  constructor(private readonly d: SessionDeps) {}

  /**
   * Ends the caller's session, another of the caller's sessions named by
   * refresh token, or all of them; returns the ids of the sessions ended. A
   * session of another region is ended here when it is replicated here, else
   * there (all sessions: in the user's home region).
   */
  async logout(claims: Pick<AccessClaims, 'sub' | 'sid'>, opts: LogoutOptions, ctx: RequestContext): Promise<Served<string[]>> {
    const origin = regionOf(opts.allSessions ? claims.sub : claims.sid);
    const now = this.d.clock.now();
    const ended: string[] = [];
    if (origin && origin !== this.d.settings.region && this.d.remote && !ctx.forwardedBy) {
      // A session replicated here is ended here; replication takes the revocation to its origin and every other region.
      if (opts.allSessions || !(await this.d.sessions.revoke(claims.sid, claims.sub, now, 'logout'))) return this.logoutElsewhere(origin, claims, opts, ctx);
      ended.push(claims.sid);
    } else if (opts.allSessions) {
      ended.push(...(await this.d.sessions.revokeAllForUser(claims.sub, now, 'logout_all')));
    } else if (await this.d.sessions.revoke(claims.sid, claims.sub, now, 'logout')) {
      ended.push(claims.sid);
    }
    if (opts.refreshToken && !opts.allSessions) {
      const owner = await this.ownerOf(opts.refreshToken);
      // Another user's token is ignored silently: logout must not reveal or touch other accounts.
      if (owner && owner.userId === claims.sub && (await this.d.sessions.revoke(owner.sessionId, claims.sub, now, 'logout'))) {
        ended.push(owner.sessionId);
      }
    }
    // The caller's own session is revoked in memory even if it was already ended elsewhere.
    for (const sid of new Set([claims.sid, ...ended])) this.d.revocations.add(sid, now);
    this.d.audit(
      'session.logged_out',
      { userId: claims.sub, sessionId: claims.sid, count: ended.length, scope: opts.allSessions ? 'all_sessions' : 'session' },
      ctx,
    );
    return this.here(ended);
  }

  private async logoutElsewhere(
    region: string,
    claims: Pick<AccessClaims, 'sub' | 'sid'>,
    opts: LogoutOptions,
    ctx: RequestContext,
  ): Promise<Served<string[]>> {
    // Nothing changes here unless the origin ended the sessions: a 503 leaves the access token usable for a retry.
    const answer = await this.remote().logout(region, { userId: claims.sub, sessionId: claims.sid, ...opts }, ctx);
    const ended = answer.value;
    const now = this.d.clock.now();
    // Replication brings the origin's revocations here only later: until then a replica held here would
    // still rotate. So this region ends its own copies (and, for all sessions, every session of the user
    // it holds) before answering; the revocations it records replicate like any other and change nothing where they are known.
    const local = opts.allSessions ? await this.d.sessions.revokeAllForUser(claims.sub, now, 'logout_all') : [];
    if (!opts.allSessions) for (const sid of ended) await this.d.sessions.revoke(sid, claims.sub, now, 'logout');
    for (const sid of new Set([claims.sid, ...ended, ...local])) this.d.revocations.add(sid, now);
    return answer;
  }

  /** Revokes the session a refresh token belongs to (RFC 7009); silent for unknown tokens. `jkt`: the request's proven DPoP key. */
  async revokeRefreshToken(token: string, ctx: RequestContext, jkt?: string): Promise<Served<void>> {
    const presented = await resolvePresented(token, this.d.settings.rotationKey, this.d.sessions);
    if (!presented) return this.here(undefined);
    // The source of truth: a cached state could still show a session bound since as unbound.
    const owner = presented.ref && (await this.d.sessions.findSession(presented.ref.sessionId, { consistent: true }));
    if (owner) checkRevocationProof(owner.jkt, jkt);
    if (owner) return this.revokeSession(owner, ctx);
    // Not held here: its origin may hold it. A 200 must mean the token is dead (RFC 7009).
    const { origin } = presented;
    if (origin !== this.d.settings.region && this.d.remote && !ctx.forwardedBy) return this.d.remote.revoke(origin, token, ctx, jkt);
    return this.here(undefined);
  }

  /**
   * The session a refresh token of any generation belongs to, and its user;
   * null for a token that is invalid or whose session is not held here.
   */
  private async ownerOf(token: string, known?: TokenRef | null): Promise<{ sessionId: string; userId: string } | null> {
    const ref = known === undefined ? (await resolvePresented(token, this.d.settings.rotationKey, this.d.sessions))?.ref : known;
    const state = ref ? await this.d.sessions.findSession(ref.sessionId, { consistent: true }) : null;
    return state ? { sessionId: state.sessionId, userId: state.userId } : null;
  }

  /**
   * Ends a session (RFC 7009 revocation of one of its tokens). Its access tokens die here at once
   * whatever the database says; a session neither held nor replicated here is ended at its origin.
   */
  async revokeSession(owner: { sessionId: string; userId: string }, ctx: RequestContext): Promise<Served<void>> {
    const now = this.d.clock.now();
    this.d.revocations.add(owner.sessionId, now);
    if (await this.d.sessions.revoke(owner.sessionId, owner.userId, now, 'revoked')) {
      this.d.audit('session.revoked', { userId: owner.userId, sessionId: owner.sessionId }, ctx);
      return this.here(undefined);
    }
    const origin = regionOf(owner.sessionId);
    if (origin && origin !== this.d.settings.region && this.d.remote && !ctx.forwardedBy) {
      const { servedBy } = await this.d.remote.logout(origin, { userId: owner.userId, sessionId: owner.sessionId }, ctx);
      return { value: undefined, servedBy };
    }
    return this.here(undefined);
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
}
