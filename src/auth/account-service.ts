import { AppError, isAppError, unavailable } from '../errors.js';
import type { AdminAction, Audit, PasswordChangeFailure, RequestContext } from '../observability/audit.js';
import { type Clock, regionOf } from '../util/runtime.js';
import type { Accounts } from './accounts.js';
import type { RemoteRegions, Served, UsernameDirectory } from './regions.js';
import type { RevocationSink, SessionService } from './sessions.js';
import type { RevocationReason, SessionStore, SessionSummary, UserRecord, UserStore } from './stores.js';
import { normalizeUsername } from './usernames.js';
import type { AccessClaims } from './verifier.js';

export interface AccountServiceDeps {
  users: UserStore;
  sessions: SessionStore;
  /** Logout: ending one session of the caller is a logout of it. */
  logins: SessionService;
  accounts: Accounts;
  revocations: RevocationSink;
  region: string;
  /** How long a session's live refresh token lasts unused (a session past it is not listed). */
  refreshIdleSeconds: number;
  clock: Clock;
  audit: Audit;
  /** Other regions: the home region of a user who lives elsewhere; absent for a region on its own. */
  remote?: RemoteRegions;
  /** The username directory of a topology, which frees a deleted user's name; absent for a region on its own. */
  directory?: UsernameDirectory;
}

export interface SessionView extends SessionSummary {
  /** The session of the access token that asked. */
  current: boolean;
}

/** The user as the admin API shows it: never the password hash. */
export type AccountView = Omit<UserRecord, 'passwordHash' | 'usernameNormalized'>;

export type UserLookup = { id: string } | { username: string };

type Caller = Pick<AccessClaims, 'sub' | 'sid'>;

const PASSWORD_FAILURES: Record<string, PasswordChangeFailure> = {
  invalid_grant: 'bad_credentials',
  weak_password: 'weak_password',
  invalid_request: 'invalid_request',
};

/**
 * What a signed-in user does with the account (its session list, ending one
 * session, a password change) and what an operator does to accounts through
 * the admin API. Every way of ending sessions revokes them in the store
 * (refresh tokens die at once, the outbox takes the revocation to the cache
 * and the other regions) and in the revocation set (access tokens die in
 * every process), as a logout does.
 */
export class AccountService {
  constructor(private readonly d: AccountServiceDeps) {}

  private liveSessions(userId: string) {
    const now = this.d.clock.now();
    return this.d.sessions.listForUser(userId, now, now - this.d.refreshIdleSeconds * 1000);
  }

  /** The caller's live sessions, from the region that holds them (the user's home). */
  async listSessions(caller: Caller, ctx: RequestContext): Promise<Served<SessionView[]>> {
    const home = this.homeElsewhere(caller.sub, ctx);
    const list = home ? await this.remote(home).sessions(home, caller.sub, ctx) : { value: await this.liveSessions(caller.sub), servedBy: this.d.region };
    return { value: list.value.map((s) => ({ ...s, current: s.id === caller.sid })), servedBy: list.servedBy };
  }

  /** Ends one session of the caller as a logout of it would; not_found for any id that is not a live session of the caller. */
  async endSession(caller: Caller, sessionId: string, ctx: RequestContext): Promise<Served<void>> {
    const own = await this.listSessions(caller, ctx);
    // The id is checked before anything is revoked: another user's session is neither touched nor revealed.
    if (!own.value.some((s) => s.id === sessionId))
      throw new AppError('not_found', { reason: 'not a live session of the caller', description: 'No such session.' });
    const { servedBy } = await this.d.logins.logout({ sub: caller.sub, sid: sessionId }, {}, ctx);
    return { value: undefined, servedBy };
  }

  /**
   * Changes the caller's password: the new one must pass the registration
   * policy, the current one is checked as a login would check it (throttle,
   * count, failure), and every other session of the user ends.
   */
  async changePassword(caller: Caller, current: string, next: string, ctx: RequestContext): Promise<Served<void>> {
    const home = this.homeElsewhere(caller.sub, ctx);
    // The record here is a replica: the change is the home region's, which checks, counts and replicates it.
    if (home) {
      const answer = await this.remote(home).changePassword(
        home,
        { userId: caller.sub, sessionId: caller.sid, currentPassword: current, newPassword: next },
        ctx,
      );
      // The home's revocations reach this region only with replication; until then a copy held here
      // would still rotate. So the copies here end before the answer, as a forwarded logout's do.
      await this.revokeAll(caller.sub, this.d.clock.now(), 'password_changed', caller.sid);
      return answer;
    }
    const user = await this.d.users.findById(caller.sub);
    try {
      if (!user) throw new AppError('invalid_grant', { reason: 'unknown_user', description: 'Invalid username or password.' });
      const hash = await this.d.accounts.replacementHash(user, current, next, ctx);
      const now = this.d.clock.now();
      if (!(await this.d.users.setPassword(user.id, hash, now)))
        throw new AppError('invalid_grant', { reason: 'unknown_user', description: 'Invalid username or password.' });
      const ended = await this.revokeAll(user.id, now, 'password_changed', caller.sid);
      this.d.audit('password.changed', { userId: user.id, sessionId: caller.sid, count: ended.length }, ctx);
      return { value: undefined, servedBy: this.d.region };
    } catch (err) {
      const reason = isAppError(err)
        ? err.code === 'rate_limited'
          ? err.reason === 'account_locked'
            ? 'locked'
            : 'rate_limited'
          : PASSWORD_FAILURES[err.code]
        : undefined;
      if (reason) this.d.audit('password.change_failed', { userId: caller.sub, sessionId: caller.sid, reason }, ctx);
      throw err;
    }
  }

  async findUser(lookup: UserLookup, ctx: RequestContext): Promise<AccountView> {
    const user = 'id' in lookup ? await this.d.users.findById(lookup.id) : await this.byUsername(lookup.username);
    if (!user) throw new AppError('not_found', { description: 'No such user.' });
    this.admin('user_looked_up', user.id, ctx);
    const { passwordHash: _hash, usernameNormalized: _key, ...view } = user;
    return view;
  }

  /** Disables the account and ends all its sessions: the flag alone would not reach a cached family. */
  async disable(userId: string, ctx: RequestContext): Promise<void> {
    const now = this.d.clock.now();
    if (!(await this.d.users.setDisabled(userId, true, now))) throw new AppError('not_found', { description: 'No such user.' });
    this.admin('user_disabled', userId, ctx, await this.revokeAll(userId, now, 'disabled'));
  }

  async enable(userId: string, ctx: RequestContext): Promise<void> {
    if (!(await this.d.users.setDisabled(userId, false, this.d.clock.now()))) throw new AppError('not_found', { description: 'No such user.' });
    this.admin('user_enabled', userId, ctx);
  }

  async endAllSessions(userId: string, ctx: RequestContext): Promise<number> {
    await this.existing(userId);
    const ended = await this.revokeAll(userId, this.d.clock.now(), 'admin');
    this.admin('sessions_ended', userId, ctx, ended);
    return ended.length;
  }

  /**
   * Removes the account, at its home region only (elsewhere the record is a replica; the answer
   * names the home). In a topology the directory frees the name first: when it cannot be reached
   * the call is a 503 and nothing is deleted, and a retry releases again harmlessly. Then the
   * sessions are revoked (so the revocations are announced everywhere) and the rows go; the
   * deletion itself is replicated, and every region drops its replica for good.
   */
  async deleteUser(userId: string, ctx: RequestContext): Promise<void> {
    const home = regionOf(userId);
    if (this.d.remote && home && home !== this.d.region)
      throw new AppError('invalid_request', {
        reason: 'deletion away from home',
        description: `The user lives in region ${home}; delete the account there.`,
      });
    await this.existing(userId);
    await this.d.directory?.release(userId);
    const now = this.d.clock.now();
    const ended = await this.revokeAll(userId, now, 'deleted');
    if (!(await this.d.users.delete(userId, now))) throw new AppError('not_found', { description: 'No such user.' });
    this.admin('user_deleted', userId, ctx, ended);
  }

  private async existing(userId: string): Promise<UserRecord> {
    const user = await this.d.users.findById(userId);
    if (!user) throw new AppError('not_found', { description: 'No such user.' });
    return user;
  }

  private async byUsername(username: string): Promise<UserRecord | null> {
    const found = await this.d.users.findByUsername(normalizeUsername(username));
    return found ? this.d.users.findById(found.id) : null;
  }

  private async revokeAll(userId: string, now: number, reason: RevocationReason, except?: string): Promise<string[]> {
    const ended = await this.d.sessions.revokeAllForUser(userId, now, reason, except);
    for (const sid of ended) this.d.revocations.add(sid, now);
    return ended;
  }

  private admin(action: AdminAction, userId: string, ctx: RequestContext, ended?: string[]): void {
    this.d.audit('admin.action', { actor: 'admin', action, userId, count: ended?.length }, ctx);
  }

  /** The user's home region when it is another region of a topology (and the request was not forwarded from there). */
  private homeElsewhere(userId: string, ctx: RequestContext): string | undefined {
    const home = regionOf(userId);
    return home && home !== this.d.region && this.d.remote && !ctx.forwardedBy ? home : undefined;
  }

  /** The other regions, when they serve the account calls (every PeerRegions does). */
  private remote(home: string): Required<RemoteRegions> {
    const r = this.d.remote;
    if (!r?.sessions || !r.changePassword) throw unavailable(`region ${home}`, new Error('the account calls of another region are not served'), 30);
    return r as Required<RemoteRegions>;
  }
}
