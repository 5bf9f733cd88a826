import { Algorithm, hash, verify } from '@node-rs/argon2';

/** OWASP's argon2id minimum; API.md requires at least this much. */
export const ARGON2_PARAMS = { memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

/**
 * argon2id hashing. @node-rs/argon2 runs each hash on the libuv thread pool,
 * off the event loop. A hash of a random password is kept to verify against
 * when the user does not exist, so an unknown user costs the same time as a
 * wrong password.
 */
export class PasswordHasher {
  private dummy: Promise<string> | undefined;

  constructor(private readonly params: { memoryCost: number; timeCost: number; parallelism: number } = ARGON2_PARAMS) {}

  hash(password: string): Promise<string> {
    return hash(password, { ...this.params, algorithm: Algorithm.Argon2id });
  }

  async verify(passwordHash: string, password: string): Promise<boolean> {
    try {
      return await verify(passwordHash, password);
    } catch {
      // A corrupt stored hash must read as a failed login, not a 500.
      return false;
    }
  }

  /** Spends the time of a real verification and always fails. */
  async verifyDummy(password: string): Promise<false> {
    this.dummy ??= this.hash(`dummy-${Math.random()}-${Date.now()}`);
    await this.verify(await this.dummy, password);
    return false;
  }

  /** True when a stored hash uses weaker parameters than configured (rehash on next login). */
  needsRehash(passwordHash: string): boolean {
    const m = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$/.exec(passwordHash);
    if (!m) return true;
    return Number(m[1]) < this.params.memoryCost || Number(m[2]) < this.params.timeCost || Number(m[3]) < this.params.parallelism;
  }
}
