import { AppError } from '../errors.js';
import type { Clock } from '../util/runtime.js';
import type { CounterStore } from './counters.js';

export interface ThrottleLimits {
  loginMaxFailuresPerAccount: number;
  loginMaxFailuresPerIp: number;
  loginLockoutSeconds: number;
  registerMaxPerIp: number;
  registerWindowSeconds: number;
}

/**
 * Brute-force protection. Failed logins are counted per account and per
 * client IP in a window; once either reaches its limit, logins for it are
 * refused with 429 until the window ends, even with the right password. The
 * account key is the normalized username whether or not it exists, so a
 * lockout says nothing about which usernames are registered.
 */
export class Throttle {
  constructor(
    private readonly store: CounterStore,
    private readonly limits: ThrottleLimits,
    private readonly clock: Clock,
  ) {}

  async assertLoginAllowed(account: string, ip: string): Promise<void> {
    const [acct, addr] = await Promise.all([this.store.get(`login:acct:${account}`), this.store.get(`login:ip:${ip}`)]);
    if (acct && acct.count >= this.limits.loginMaxFailuresPerAccount) this.refuse(acct.resetAt, 'account_locked');
    if (addr && addr.count >= this.limits.loginMaxFailuresPerIp) this.refuse(addr.resetAt, 'client_locked');
  }

  async recordLoginFailure(account: string, ip: string): Promise<void> {
    const windowMs = this.limits.loginLockoutSeconds * 1000;
    await Promise.all([this.store.increment(`login:acct:${account}`, windowMs), this.store.increment(`login:ip:${ip}`, windowMs)]);
  }

  /** A successful login clears the account's failures (not the IP's: one good password must not unlock a spray). */
  async recordLoginSuccess(account: string): Promise<void> {
    await this.store.reset(`login:acct:${account}`);
  }

  async assertRegisterAllowed(ip: string): Promise<void> {
    const w = await this.store.increment(`register:ip:${ip}`, this.limits.registerWindowSeconds * 1000);
    if (w.count > this.limits.registerMaxPerIp) this.refuse(w.resetAt, 'register_rate');
  }

  private refuse(resetAt: number, reason: string): never {
    const retryAfter = Math.max(1, Math.ceil((resetAt - this.clock.now()) / 1000));
    throw new AppError('rate_limited', { retryAfter, reason });
  }
}
