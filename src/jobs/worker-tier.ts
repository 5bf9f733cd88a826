import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { Metrics } from '../observability/metrics.js';
import { QUEUES } from '../storage/redis/keys.js';
import type { SharedState } from '../storage/shared.js';
import type { Storage } from '../storage/storage.js';
import type { Clock } from '../util/runtime.js';
import { BullQueueBackend } from './bullmq-queue.js';
import { cacheSync, type SyncEvent } from './cache-sync.js';
import { cleanupHorizons } from './cleanup.js';
import { MemoryQueueBackend } from './memory-queue.js';
import { OutboxRelay } from './outbox-relay.js';
import { RotationFlush } from './rotation-flush.js';
import { createReplication, type Replication } from '../regions/replication.js';
import { peerClientFor } from '../regions/setup.js';
import type { Topology } from '../regions/topology.js';
import type { QueueBackend, RetryPolicy, WorkQueue } from './queue.js';

export const CLEANUP_JOB = 'cleanup';
/** Cache-sync jobs are small and independent (ordering comes from versions): run several at once. */
const SYNC_CONCURRENCY = 8;

export interface WorkerTierDeps {
  config: Config;
  storage: Storage;
  shared: SharedState;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  /** Overrides the retry policy (tests). */
  retry?: RetryPolicy;
  /** The region topology: changes are also sent to the other regions. */
  topology?: Topology;
}

export interface WorkerTier {
  /** The outbox relay of each database (Storage.perShard), in its order. */
  relays: OutboxRelay[];
  /** Senders to the other regions, a set per database; none for a region on its own. */
  replication: Replication[];
  sync: WorkQueue;
  maintenance: WorkQueue;
  /** The flush of write-behind rotations to PostgreSQL; undefined in synchronous mode. */
  flush: RotationFlush | undefined;
  /** Finishes running jobs and the relay's batch in hand, then stops. */
  close(): Promise<void>;
}

/**
 * The background work of a region: the outbox relay, cache sync, the
 * scheduled cleanup and, in a topology, replication to the other regions. `meridian worker` runs it on BullMQ; the embedded
 * default runs it inside `meridian start` on in-process queues.
 */
export async function startWorkerTier(d: WorkerTierDeps): Promise<WorkerTier> {
  const { config, storage, shared, clock, logger, metrics } = d;
  const backend: QueueBackend =
    shared.kind === 'redis' && shared.link
      ? new BullQueueBackend(shared.link, { keys: shared.keys, lockMs: config.jobLockSeconds * 1000, metrics, logger, retry: d.retry })
      : new MemoryQueueBackend(metrics, logger, d.retry);
  const sync = backend.open(QUEUES.sync);
  const maintenance = backend.open(QUEUES.maintenance);

  const applyEvent = cacheSync({ sessions: storage.sessions(), cache: shared.cache, bus: shared.bus });
  sync.process((job) => applyEvent(job.data as SyncEvent), SYNC_CONCURRENCY);
  // Starts at the process's start, so a worker that never gets to run a cleanup is noticed 3 intervals later.
  metrics.cleanupLastSuccess.set(clock.now() / 1000);
  metrics.cleanupInterval.set(config.cleanupInterval);
  maintenance.process(async () => {
    const now = clock.now();
    const result = await storage.maintenance.cleanup(cleanupHorizons(config, now));
    metrics.cleanupLastSuccess.set(clock.now() / 1000);
    logger.info({ deleted: result }, 'cleanup done');
    return result;
  }, 1);
  await maintenance.schedule(CLEANUP_JOB, config.cleanupInterval * 1000);

  // A relay and senders per database: a shard that is down backs off its own loops only.
  const client = d.topology && peerClientFor(config, d.topology, metrics);
  const shards = storage.perShard.map(({ shard, outbox, replication: queue }, i) => {
    const log = storage.perShard.length > 1 ? logger.child({ shard }) : logger;
    const replication = d.topology && client && createReplication({ queue, client, topology: d.topology, self: config.region, logger: log });
    return { relay: new OutboxRelay(outbox, sync, clock, log, replication, i === 0 ? '' : `${shard}-`), replication };
  });
  const relays = shards.map((s) => s.relay);
  const replication = shards.flatMap((s) => (s.replication ? [s.replication] : []));
  for (const s of shards) {
    s.relay.start();
    s.replication?.start();
  }
  // Write-behind rotations are owed to PostgreSQL until this flushes them (and so are their events for the other regions).
  // It runs in either mode: a region switched back to synchronous rotation still drains what the mode left pending.
  const flush = shared.rotations ? new RotationFlush(shared.rotations, storage.rotations, clock, metrics, logger) : undefined;
  flush?.start();

  for (const q of [sync, maintenance]) {
    metrics.onScrape(async () => {
      for (const [state, n] of Object.entries(await q.counts())) metrics.queueJobs.set({ queue: q.name, state }, n);
    });
  }
  metrics.onScrape(async () => {
    metrics.outboxPending.set(await storage.outbox.backlog());
  });
  if (shared.rotations && flush) {
    const ledger = shared.rotations;
    metrics.onScrape(async () => {
      metrics.rotationsPending.set(await ledger.count());
    });
  }
  if (d.topology) {
    const targets = d.topology.regions.map((r) => r.id).filter((id) => id !== config.region);
    metrics.onScrape(async () => {
      const backlog = await storage.replication.backlog();
      for (const target of targets) metrics.replicationPending.set({ target }, backlog.get(target) ?? 0);
    });
  }

  return {
    relays,
    replication,
    sync,
    maintenance,
    flush,
    async close() {
      await flush?.stop();
      await Promise.all(relays.map((r) => r.stop()));
      await Promise.all(replication.map((r) => r.stop()));
      await backend.close();
    },
  };
}
