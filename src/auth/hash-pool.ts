import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

/**
 * A small pool of hashing threads (hash-worker.mjs), one per core by default.
 * On the libuv pool, four argon2 hashes at normal priority left the event
 * loop a fraction of two cores during a login storm; here the threads run at
 * low priority, so request handling preempts them and hashing takes the rest.
 * Threads hold the process open only while a job is in flight.
 */
export class HashPool {
  private readonly workers: { worker: Worker; busy: number }[] = [];
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; slot: { worker: Worker; busy: number } }>();
  private nextId = 0;

  constructor(size = availableParallelism(), nice = 19) {
    const file = new URL('./hash-worker.mjs', import.meta.url);
    for (let i = 0; i < Math.max(1, size); i++) {
      const worker = new Worker(file, { workerData: { nice } });
      const slot = { worker, busy: 0 };
      worker.unref();
      // An unref before the thread is up does not hold: repeat it once it is online, unless busy by then.
      worker.once('online', () => slot.busy === 0 && worker.unref());
      worker.on('message', (m: { id: number; ok: boolean; result?: unknown; error?: string }) => this.settle(m));
      worker.on('error', (err) => this.failAll(slot, err));
      this.workers.push(slot);
    }
  }

  run<T>(job: Record<string, unknown>): Promise<T> {
    const slot = this.workers.reduce((a, b) => (b.busy < a.busy ? b : a));
    const id = this.nextId++;
    if (slot.busy++ === 0) slot.worker.ref();
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, slot });
      slot.worker.postMessage({ ...job, id });
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
  }

  private settle(m: { id: number; ok: boolean; result?: unknown; error?: string }): void {
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (--p.slot.busy === 0) p.slot.worker.unref();
    if (m.ok) p.resolve(m.result);
    else p.reject(new Error(m.error));
  }

  private failAll(slot: { worker: Worker; busy: number }, err: Error): void {
    for (const [id, p] of this.pending) {
      if (p.slot !== slot) continue;
      this.pending.delete(id);
      p.reject(err);
    }
    slot.busy = 0;
  }
}
