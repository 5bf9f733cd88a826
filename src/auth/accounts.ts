import { slotOfName } from '../util/slots.js';
import { AppError, isAppError } from '../errors.js';
import type { Audit, RegisterFailure, RequestContext } from '../observability/audit.js';
import { type Clock, idTime, newId, type Random } from '../util/runtime.js';
import { checkPassword, normalizePassword, type PasswordPolicy } from './credentials.js';
import type { PasswordHasher } from './passwords.js';
import { localDirectory, type UsernameDirectory } from './regions.js';
import type { CreatedUser, UserCredentials, UserRecord, UserStore } from './stores.js';
import type { LoginReservation, Throttle } from './throttle.js';
import { checkNewUsername, checkUsername, normalizeUsername } from './usernames.js';

export interface AccountsDeps {
  users: UserStore;
  hasher: PasswordHasher;
  throttle: Throttle;
  policy: PasswordPolicy;
  region: string;
  clock: Clock;
  random: Random;
  audit: Audit;
  /** Keeps usernames unique across regions; default: this region alone. */
  directory?: UsernameDirectory;
}

/** The user is not at home here: the login belongs to `homeRegion`. */
export interface HomeElsewhere {
  homeRegion: string;
}

/** A password check: the user, if the name exists here, and whether the password matched. */
interface Checked {
  user: UserCredentials | null;
  ok: boolean;
}

/** The refusals of a registration that the audit trail names; others (a 500) are logged as errors. */
const REGISTER_FAILURES: ReadonlySet<string> = new Set<RegisterFailure>([
  'invalid_request',
  'weak_password',
  'username_taken',
  'rate_limited',
  'temporarily_unavailable',
]);

/** Registration and password authentication. */
export class Accounts {
  private readonly directory: UsernameDirectory;

  constructor(private readonly d: AccountsDeps) {
    this.directory = d.directory ?? localDirectory;
  }

  async register(username: string, password: string, ctx: RequestContext): Promise<CreatedUser> {
    try {
      const created = await this.createUser(username, password, ctx);
      this.d.audit('user.registered', { userId: created.id }, ctx);
      return created;
    } catch (err) {
      if (isAppError(err) && REGISTER_FAILURES.has(err.code))
        this.d.audit('user.register_failed', { reason: err.code as RegisterFailure, detail: err.reason }, ctx);
      throw err;
    }
  }

  private async createUser(username: string, password: string, ctx: RequestContext): Promise<CreatedUser> {
    checkNewUsername(username);
    // Throttled before the password policy: the strength estimate costs milliseconds of CPU, so an
    // unthrottled flood of weak passwords would cost the event loop that much per request.
    await this.d.throttle.assertRegisterAllowed(ctx.ip ?? 'unknown');
    const normalizedPassword = checkPassword(password, this.d.policy, username);
    const usernameNormalized = normalizeUsername(username);
    const id = newId(this.d.region, this.d.clock, this.d.random, slotOfName(usernameNormalized));
    // Hashed before the claim, so that a claim is only ever held by a registration about to be written.
    const passwordHash = await this.d.hasher.hash(normalizedPassword);
    const now = this.d.clock.now();
    if (!(await this.directory.claim({ usernameNormalized, userId: id, homeRegion: this.d.region, now }))) {
      throw new AppError('username_taken', { reason: 'claimed in the directory' });
    }
    const created = await this.d.users.insert({ id, username, usernameNormalized, passwordHash, homeRegion: this.d.region, now });
    if (!created) throw new AppError('username_taken');
    return created;
  }

  /**
   * Checks a username and password. Unknown user, wrong password and disabled
   * account all fail the same way, after the same argon2 work; a throttled
   * account or client fails before any password is checked, and the check is
   * counted before it starts (see Throttle), so logins at once cannot pass
   * the limits. A user unknown here whose name the directory places in
   * another region is `HomeElsewhere` (the password is checked, and counted,
   * there).
   */
  async authenticate(username: string, password: string, ctx: RequestContext): Promise<UserCredentials | HomeElsewhere> {
    try {
      checkUsername(username);
    } catch (err) {
      this.d.audit('login.failed', { reason: 'invalid_request' }, ctx);
      throw err;
    }
    const normalizedPassword = this.loginPassword(password, ctx);
    const account = normalizeUsername(username);
    const reservation = await this.reserveLogin(account, ctx);
    const checked = await this.whileReserved(reservation, () => this.check(account, normalizedPassword, ctx));
    if ('homeRegion' in checked) {
      await reservation.cancel();
      return checked;
    }
    return this.settle(reservation, checked, ctx);
  }

  /**
   * Whether a session of the user was ended by a "log out everywhere" this
   * region knows of (the user's mark), though the region holds no copy of the
   * session itself: started until the mark (its id says when), and not the
   * one the mark kept.
   */
  async endedByMark(userId: string, sessionId: string): Promise<boolean> {
    const started = idTime(sessionId);
    const mark = started === undefined ? null : (await this.d.users.findById(userId))?.sessionsEnded;
    return !!mark && started !== undefined && started <= mark.at && mark.kept !== sessionId;
  }

  /**
   * Checks the password of a signed-in user again (a password change) exactly
   * as a login with the user's name would: the same throttle and count, the
   * same argon2 work, the same failure.
   */
  async reauthenticate(user: UserRecord, password: string, ctx: RequestContext): Promise<void> {
    const normalizedPassword = this.loginPassword(password, ctx);
    const reservation = await this.reserveLogin(user.usernameNormalized, ctx);
    const checked = await this.whileReserved(reservation, async () => ({ user, ok: await this.d.hasher.verify(user.passwordHash, normalizedPassword) }));
    await this.settle(reservation, checked, ctx);
  }

  /**
   * For a password change: checks `next` against the registration policy,
   * then `current` as a login would; the argon2id hash of `next`.
   */
  async replacementHash(user: UserRecord, current: string, next: string, ctx: RequestContext): Promise<string> {
    const normalized = checkPassword(next, this.d.policy, user.username);
    await this.reauthenticate(user, current, ctx);
    return this.d.hasher.hash(normalized);
  }

  private loginPassword(password: string, ctx: RequestContext): string {
    const normalizedPassword = normalizePassword(password);
    if ([...normalizedPassword].length > this.d.policy.maxLength) {
      this.d.audit('login.failed', { reason: 'invalid_request' }, ctx);
      throw new AppError('invalid_request', { description: `password must be at most ${this.d.policy.maxLength} characters` });
    }
    return normalizedPassword;
  }

  private async whileReserved<T>(reservation: LoginReservation, check: () => Promise<T>): Promise<T> {
    try {
      return await check();
    } catch (err) {
      // The check did not finish (an outage): it told the client nothing, so it costs nothing.
      await reservation.cancel();
      throw err;
    }
  }

  private async settle(reservation: LoginReservation, { user, ok }: Checked, ctx: RequestContext): Promise<UserCredentials> {
    if (!user || !ok || user.disabled) {
      // The reservation stays taken: it is the failure's count.
      const detail = !user ? 'unknown_user' : !ok ? 'bad_password' : 'disabled';
      this.d.audit('login.failed', { userId: user?.id, reason: detail === 'disabled' ? 'disabled' : 'bad_credentials', detail }, ctx);
      throw new AppError('invalid_grant', { reason: detail, description: 'Invalid username or password.' });
    }
    await reservation.succeeded();
    return user;
  }

  private async reserveLogin(account: string, ctx: RequestContext): Promise<LoginReservation> {
    try {
      return await this.d.throttle.reserveLogin(account, ctx.ip ?? 'unknown');
    } catch (err) {
      // A lockout of the account is "locked"; one of the client address is "rate_limited".
      if (isAppError(err, 'rate_limited'))
        this.d.audit('login.failed', { reason: err.reason === 'account_locked' ? 'locked' : 'rate_limited', detail: err.reason }, ctx);
      throw err;
    }
  }

  private async check(account: string, normalizedPassword: string, ctx: RequestContext): Promise<Checked | HomeElsewhere> {
    const user = await this.d.users.findByUsername(account);
    if (!user) {
      // The directory is asked while the dummy hash runs, so an unknown name costs the same argon2
      // work as a wrong password and the lookup hides behind it (see docs/multi-region.md).
      const [home] = await Promise.all([ctx.forwardedBy ? undefined : this.directory.homeRegion(account), this.d.hasher.verifyDummy(normalizedPassword)]);
      if (home && home !== this.d.region) return { homeRegion: home };
    }
    return { user, ok: user ? await this.d.hasher.verify(user.passwordHash, normalizedPassword) : false };
  }
}
