import { AppError } from '../errors.js';
import type { Clock } from '../util/runtime.js';
import type { CounterStore } from './counters.js';

/**
 * The bucket a client address is counted in. An IPv6 client is usually given
 * a whole /64 (and picks addresses in it freely), so IPv6 addresses are
 * counted by their /64; an IPv4-mapped address is counted as its IPv4
 * address. Anything that is not an IPv6 address is its own bucket.
 */
export function addressBucket(ip: string): string {
  if (!ip.includes(':')) return ip;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1] as string;
  const halves = (ip.toLowerCase().split('%')[0] as string).split('::');
  if (halves.length > 2) return ip;
  const [head = '', tail] = halves;
  const left = head ? head.split(':') : [];
  const right = tail === undefined ? [] : tail ? tail.split(':') : [];
  const groups = tail === undefined ? left : [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  if (groups.length !== 8 || !groups.every((g) => /^[0-9a-f]{1,4}$/.test(g))) return ip;
  return `${groups
    .slice(0, 4)
    .map((g) => Number.parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}

export interface ThrottleLimits {
  loginMaxFailuresPerAccount: number;
  loginMaxFailuresPerIp: number;
  loginLockoutSeconds: number;
  registerMaxPerIp: number;
  registerWindowSeconds: number;
}

/** A login attempt that holds one password check of its account and of its client address. */
export interface LoginReservation {
  /** The password was right: the account's failures are cleared, and the check costs the address nothing. */
  succeeded(): Promise<void>;
  /** No password was checked here (the user is at home in another region) or the check did not finish: it costs nothing. */
  cancel(): Promise<void>;
}

/**
 * Brute-force protection. Password checks are counted per account and per
 * client address in a window, and taken before the check: once either count
 * has reached its limit, logins for it are refused with 429 until the window
 * ends, even with the right password, and without checking it. Taking first
 * is what holds the limit for logins in flight at once; a failure keeps what
 * it took, a success gives back what it must not cost. The account key is the
 * normalized username whether or not it exists, so a lockout says nothing
 * about which usernames are registered.
 */
export class Throttle {
  constructor(
    private readonly store: CounterStore,
    private readonly limits: ThrottleLimits,
    private readonly clock: Clock,
  ) {}

  async reserveLogin(account: string, ip: string): Promise<LoginReservation> {
    const windowMs = this.limits.loginLockoutSeconds * 1000;
    const acctKey = `login:acct:${account}`;
    const [acct, addr] = await Promise.all([
      this.store.take(acctKey, windowMs, this.limits.loginMaxFailuresPerAccount),
      this.store.take(`login:ip:${addressBucket(ip)}`, windowMs, this.limits.loginMaxFailuresPerIp),
    ]);
    if (!acct.granted || !addr.granted) {
      // What one side took is returned: a refused attempt checks no password, so it costs nothing.
      await Promise.all([acct.giveBack(), addr.giveBack()]);
      if (!acct.granted) this.refuse(acct.resetAt, 'account_locked');
      this.refuse(addr.resetAt, 'client_locked');
    }
    return {
      // One good password must not unlock a spray: the address keeps its failures, only this check is returned.
      succeeded: async () => {
        await Promise.all([this.store.reset(acctKey), addr.giveBack()]);
      },
      cancel: async () => {
        await Promise.all([acct.giveBack(), addr.giveBack()]);
      },
    };
  }

  async assertRegisterAllowed(ip: string): Promise<void> {
    const w = await this.store.increment(`register:ip:${addressBucket(ip)}`, this.limits.registerWindowSeconds * 1000);
    if (w.count > this.limits.registerMaxPerIp) this.refuse(w.resetAt, 'register_rate');
  }

  private refuse(resetAt: number, reason: string): never {
    const retryAfter = Math.max(1, Math.ceil((resetAt - this.clock.now()) / 1000));
    throw new AppError('rate_limited', { retryAfter, reason });
  }
}
