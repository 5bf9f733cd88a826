/**
 * Raw argon2id throughput with Meridian's parameters: `concurrency` hashes
 * kept in flight on the libuv pool for `seconds`. The baseline for login
 * throughput. Prints one JSON line.
 */
import { Algorithm, hash } from '@node-rs/argon2';
import { ARGON2_PARAMS } from '../src/auth/passwords.js';

const concurrency = Number(process.argv[2] ?? 8);
const seconds = Number(process.argv[3] ?? 5);
const deadline = performance.now() + seconds * 1000;
let done = 0;
const started = performance.now();
await Promise.all(
  Array.from({ length: concurrency }, async (_, i) => {
    while (performance.now() < deadline) {
      await hash(`correct horse battery staple ${i}`, { ...ARGON2_PARAMS, algorithm: Algorithm.Argon2id });
      done++;
    }
  }),
);
process.stdout.write(`${JSON.stringify({ rps: done / ((performance.now() - started) / 1000) })}\n`);
