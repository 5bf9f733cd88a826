import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

interface Slot {
  worker: Worker;
  busy: number;
}

type Reply = { id: number; ok: boolean; result?: unknown; error?: string };

/** argon2 refused what it was given (e.g. a malformed stored hash): the thread itself is fine. */
export class HashInputError extends Error {
  override readonly name = 'HashInputError';
}

/**
 * A small pool of hashing threads (hash-worker.mjs), one per core by default.
 * On the libuv pool, four argon2 hashes at normal priority left the event
 * loop a fraction of two cores during a login storm; here the threads run at
 * low priority, so request handling preempts them and hashing takes the rest.
 * Threads hold the process open only while a job is in flight.
 */
export class HashPool {
  private readonly workers: Slot[] = [];
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; slot: Slot }>();
  private nextId = 0;
  private closed = false;

  constructor(
    size = availableParallelism(),
    private readonly nice = 19,
  ) {
    for (let i = 0; i < Math.max(1, size); i++) {
      const slot = { busy: 0 } as Slot;
      this.start(slot);
      this.workers.push(slot);
    }
  }

  /** Starts a thread in `slot`; a thread that dies fails its jobs (callers answer 503) and is replaced. */
  private start(slot: Slot): void {
    const worker = new Worker(new URL('./hash-worker.mjs', import.meta.url), { workerData: { nice: this.nice } });
    slot.worker = worker;
    if (slot.busy === 0) worker.unref();
    // An unref before the thread is up does not hold: repeat it once it is online, unless busy by then.
    worker.once('online', () => slot.busy === 0 && worker.unref());
    worker.on('message', (m: Reply) => this.settle(m));
    const replace = (err: Error) => {
      if (this.closed || slot.worker !== worker) return;
      this.failAll(slot, err);
      this.start(slot);
    };
    worker.on('error', replace);
    worker.on('exit', (code) => replace(new Error(`hashing thread exited with code ${code}`)));
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
    this.closed = true;
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
  }

  private settle(m: Reply): void {
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (--p.slot.busy === 0) p.slot.worker.unref();
    if (m.ok) p.resolve(m.result);
    else p.reject(new HashInputError(m.error ?? 'argon2 refused its input'));
  }

  private failAll(slot: Slot, err: Error): void {
    for (const [id, p] of this.pending) {
      if (p.slot !== slot) continue;
      this.pending.delete(id);
      p.reject(err);
    }
    slot.busy = 0;
  }
}
