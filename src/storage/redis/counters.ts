import type { CounterStore, Take, WindowCount } from '../../auth/counters.js';
import type { Audit } from '../../observability/audit.js';
import type { Clock } from '../../util/runtime.js';
import type { RedisLink } from './connection.js';
import type { RedisKeys } from './keys.js';

/**
 * Throttling counters shared by every process of the region, so a lockout
 * earned against one server holds on all of them. Window ends come from the
 * injected clock (increment-window-1.lua).
 */
export class RedisCounterStore implements CounterStore {
  constructor(
    private readonly link: RedisLink,
    private readonly keys: RedisKeys,
    private readonly clock: Clock,
  ) {}

  async increment(key: string, windowMs: number): Promise<WindowCount> {
    const [count, resetAt] = await this.link.run((r) => r.incrementWindow(this.keys.counter(key), this.clock.now(), windowMs));
    return { count: Number(count), resetAt: Number(resetAt) };
  }

  async take(key: string, windowMs: number, limit: number): Promise<Take> {
    const name = this.keys.counter(key);
    const [count, resetAt, added] = await this.link.run((r) => r.incrementWindow(name, this.clock.now(), windowMs, limit));
    const granted = Number(added) === 1;
    const giveBack = async () => {
      if (granted) await this.link.run((r) => r.giveBackWindow(name, Number(resetAt)));
    };
    return { count: Number(count), resetAt: Number(resetAt), granted, giveBack };
  }

  async get(key: string): Promise<WindowCount | null> {
    const [count, resetAt] = await this.link.run((r) => r.hmget(this.keys.counter(key), 'c', 'r'));
    if (count === null || resetAt === null || Number(resetAt) <= this.clock.now()) return null;
    return { count: Number(count), resetAt: Number(resetAt) };
  }

  async reset(key: string): Promise<void> {
    await this.link.run((r) => r.del(this.keys.counter(key)));
  }
}

/**
 * Counts in the shared store while it answers and in this process while it
 * does not: with Redis down, throttling still holds per process instead of
 * failing open for the whole region or failing logins.
 *
 * `take` always takes in this process too, and asks the shared store only
 * when the process's own count allows: what this process took through Redis
 * before an outage still counts during it, and what it took during one still
 * counts when Redis is back (even empty). So no failure, at any point of a
 * window, lets one process take more than the limit. A unit is given back
 * only to the store it was taken from; one the shared store cannot take back
 * stays taken (stricter, never looser).
 */
export class FallbackCounterStore implements CounterStore {
  constructor(
    private readonly shared: CounterStore,
    private readonly local: CounterStore,
    private readonly audit: Audit,
  ) {}

  increment(key: string, windowMs: number): Promise<WindowCount> {
    return this.either((s) => s.increment(key, windowMs));
  }

  async take(key: string, windowMs: number, limit: number): Promise<Take> {
    const local = await this.local.take(key, windowMs, limit);
    if (!local.granted) return local;
    const shared = await this.tryShared((s) => s.take(key, windowMs, limit));
    if (!shared) return local;
    if (!shared.granted) {
      await local.giveBack();
      return shared;
    }
    return { ...shared, giveBack: () => Promise.all([local.giveBack(), this.tryShared(() => shared.giveBack())]).then(() => {}) };
  }

  get(key: string): Promise<WindowCount | null> {
    return this.either((s) => s.get(key));
  }

  /** Both: the process's own count is part of every lockout (see `take`). */
  async reset(key: string): Promise<void> {
    await Promise.all([this.local.reset(key), this.tryShared((s) => s.reset(key))]);
  }

  private async either<T>(op: (store: CounterStore) => Promise<T>): Promise<T> {
    try {
      return await op(this.shared);
    } catch {
      this.fellBack();
      return op(this.local);
    }
  }

  /** `op` on the shared store; undefined when it does not answer. */
  private async tryShared<T>(op: (store: CounterStore) => Promise<T>): Promise<T | undefined> {
    try {
      return await op(this.shared);
    } catch {
      this.fellBack();
      return undefined;
    }
  }

  private fellBack(): void {
    this.audit('cache.lookup', { operation: 'counter', result: 'error' });
  }
}
