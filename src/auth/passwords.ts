import { unavailable } from '../errors.js';
import { HashInputError, HashPool } from './hash-pool.js';

/** OWASP's argon2id minimum; API.md requires at least this much. */
export const ARGON2_PARAMS = { memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export type Argon2Params = { memoryCost: number; timeCost: number; parallelism: number };

// One pool per process: every app built in it (tests build many) shares the hashing threads.
let shared: HashPool | undefined;

/**
 * argon2id hashing on low-priority threads (see hash-pool.ts), off the event
 * loop. A hash of a fixed password is kept to verify against when the user
 * does not exist, so an unknown user costs the same time as a wrong password.
 */
export class PasswordHasher {
  private dummy: Promise<string> | undefined;
  private readonly pool: HashPool;

  constructor(
    private readonly params: Argon2Params = ARGON2_PARAMS,
    pool?: HashPool,
  ) {
    // One pool per process unless one is given: the threads are the costly part.
    if (!pool) shared ??= new HashPool();
    this.pool = pool ?? (shared as HashPool);
  }

  async hash(password: string): Promise<string> {
    try {
      return await this.pool.run<string>({ op: 'hash', password, params: this.params });
    } catch (err) {
      throw unavailable('password hashing', err, 1);
    }
  }

  async verify(passwordHash: string, password: string): Promise<boolean> {
    try {
      return await this.pool.run<boolean>({ op: 'verify', hash: passwordHash, password });
    } catch (err) {
      // A corrupt stored hash reads as a failed login; a hashing thread that died is an outage, not a wrong password.
      if (err instanceof HashInputError) return false;
      throw unavailable('password hashing', err, 1);
    }
  }

  /** Spends the time of a real verification and always fails. */
  async verifyDummy(password: string): Promise<false> {
    this.dummy ??= this.hash('meridian dummy password for unknown users');
    await this.verify(await this.dummy, password);
    return false;
  }
}
