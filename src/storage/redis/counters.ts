import type { CounterStore, WindowCount } from '../../auth/counters.js';
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

  get(key: string): Promise<WindowCount | null> {
    return this.either((s) => s.get(key));
  }

  reset(key: string): Promise<void> {
    return this.either((s) => s.reset(key));
  }

  private async either<T>(op: (store: CounterStore) => Promise<T>): Promise<T> {
    try {
      return await op(this.shared);
    } catch {
      this.audit('cache.lookup', { operation: 'counter', result: 'error' });
      return op(this.local);
    }
  }
}
