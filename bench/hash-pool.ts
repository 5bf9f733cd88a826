/**
 * A login storm's worth of argon2id verifications through one hashing pool:
 * `count` verify calls, `concurrency` in flight (as many parallel logins),
 * with the event loop's delay sampled meanwhile. Prints one JSON line:
 * verifications per second and the loop's delay percentiles (ms).
 *
 *   node --import tsx bench/hash-pool.ts [pool] [count] [concurrency]
 *
 * `pool` is `current` (src/auth/hash-pool.ts) or the path, relative to this
 * file, of a module whose first export is a class with HashPool's interface,
 * so that two pools can be timed in turn.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { HashPool } from '../src/auth/hash-pool.js';
import { PasswordHasher } from '../src/auth/passwords.js';

const [which = 'current', countArg = '400', concurrencyArg = '32'] = process.argv.slice(2);
const count = Number(countArg);
const concurrency = Number(concurrencyArg);

type Pool = Pick<HashPool, 'run' | 'close'>;
const pool: Pool = which === 'current' ? new HashPool() : new (Object.values(await import(which))[0] as new () => Pool)();
const hasher = new PasswordHasher(undefined, pool as HashPool);
const password = 'correct horse battery staple';
const stored = await hasher.hash(password);

const lag = monitorEventLoopDelay({ resolution: 5 });
lag.enable();
let next = 0;
const started = performance.now();
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (next++ < count) await hasher.verify(stored, password);
  }),
);
const seconds = (performance.now() - started) / 1000;
lag.disable();
await pool.close();
const ms = (ns: number) => Math.round(ns / 1e4) / 100;
process.stdout.write(
  `${JSON.stringify({ pool: which, verifiesPerSecond: Math.round(count / seconds), lagP50: ms(lag.percentile(50)), lagP99: ms(lag.percentile(99)), lagMax: ms(lag.max) })}\n`,
);
