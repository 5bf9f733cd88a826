/**
 * A password-hashing thread. It lowers its own CPU priority first: argon2 is
 * batch work, and on a busy machine the event loop (token checks, every other
 * request) must win the CPU over it. Linux applies `nice` per thread, and
 * /proc/thread-self names this thread's id; elsewhere the priority stays.
 *
 * Messages in: { id, op: 'hash', password, params } | { id, op: 'verify', hash, password }.
 * Messages out: { id, ok: true, result } | { id, ok: false, error }.
 *
 * Plain JavaScript on purpose: worker threads do not inherit the TypeScript
 * loader used in development, and this file is copied to dist/ as it is.
 */
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { Algorithm, hashSync, verifySync } from '@node-rs/argon2';

try {
  const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
  if (tid > 0) setPriority(tid, workerData.nice);
} catch {
  // Not Linux, or not permitted: hashing still works at normal priority.
}

parentPort.on('message', (job) => {
  try {
    const result = job.op === 'hash' ? hashSync(job.password, { ...job.params, algorithm: Algorithm.Argon2id }) : verifySync(job.hash, job.password);
    parentPort.postMessage({ id: job.id, ok: true, result });
  } catch (err) {
    parentPort.postMessage({ id: job.id, ok: false, error: err instanceof Error ? err.message : String(err) });
  }
});
