/**
 * Bytes a region sends its peers per rotation: three regions in one process
 * (test/regions-harness.ts, each its own database and worker tier), refresh
 * rotations at region a, and at every region's HTTP server the bytes that
 * arrive from the other regions: request bodies by path (their
 * content-length) and all bytes read from their connections, headers
 * included. Clients reach region a in-process (inject), so whatever crosses a
 * socket came from a peer. The traffic of an idle period of the same length
 * (key sync and the like) is measured first and subtracted from the socket
 * total. Only the regions' HTTP traffic is counted, so any build can be
 * measured: bench/run.ts copies this file and bench/three-regions.ts into the
 * baseline's tree and runs it there.
 *
 *   node --import tsx bench/replication-bytes.ts [rotations (1000)] [families (50)]
 *
 * Prints one JSON line of results.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { json, login, post, type Tokens } from '../test/helpers.js';
import { startThreeRegions } from './three-regions.js';

const ROTATIONS = Number(process.argv[2] ?? 1000);
const FAMILIES = Number(process.argv[3] ?? 50);
const IN_FLIGHT = 8;
type Bodies = { requests: number; bytes: number; answered: number; answeredBytes: number };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What a server has read from its connections so far, and the request bodies by path. */
function countInbound(server: Server) {
  const live = new Set<Socket>();
  let closed = 0;
  const bodies: Record<string, Bodies> = {};
  server.on('connection', (s: Socket) => {
    live.add(s);
    s.on('close', () => {
      live.delete(s);
      closed += s.bytesRead;
    });
  });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '').split('?')[0]!;
    bodies[path] ??= { requests: 0, bytes: 0, answered: 0, answeredBytes: 0 };
    const b = bodies[path];
    const bytes = Number(req.headers['content-length'] ?? 0);
    b.requests++;
    b.bytes += bytes;
    // A sender that gave up waiting sends the batch again: the bytes crossed the network, but twice.
    res.on('close', () => {
      if (!res.writableFinished || res.statusCode >= 400) return;
      b.answered++;
      b.answeredBytes += bytes;
    });
  });
  return {
    snapshot: () => ({ socket: closed + [...live].reduce((n, s) => n + s.bytesRead, 0), bodies: structuredClone(bodies) }),
  };
}
type Snapshot = ReturnType<ReturnType<typeof countInbound>['snapshot']>;

const set = await startThreeRegions();
try {
  const ids = ['a', 'b', 'c'];
  const counters = ids.map((id) => countInbound(set.nodes[id]!.t.app.server));
  const snapshot = () => counters.map((c) => c.snapshot());
  const a = set.nodes.a!.t;
  // Delivered: region a's replication queue (where the build has one) is empty, and then nothing
  // arrived anywhere for 1.5 s (the senders poll every 100 ms when idle).
  const settle = async () => {
    const queued = async () => {
      const { rows } = await a.db.query<{ n: string | null }>(
        `SELECT CASE WHEN to_regclass('replication_queue') IS NULL THEN 0 ELSE (SELECT count(*) FROM replication_queue) END AS n`,
      );
      return Number(rows[0]?.n ?? 0);
    };
    while ((await queued()) > 0) await sleep(100);
    let last = JSON.stringify(snapshot());
    for (let quiet = 0; quiet < 1500; quiet += 100) {
      await sleep(100);
      const now = JSON.stringify(snapshot());
      if (now !== last) [last, quiet] = [now, 0];
    }
  };
  const between = (before: Snapshot[], after: Snapshot[]) => {
    const bodies: Record<string, Bodies> = {};
    let socket = 0;
    after.forEach((a, i) => {
      socket += a.socket - before[i]!.socket;
      for (const [path, b] of Object.entries(a.bodies)) {
        const was = before[i]!.bodies[path] ?? { requests: 0, bytes: 0, answered: 0, answeredBytes: 0 };
        const key = `${ids[i]} ${path}`;
        bodies[key] ??= { requests: 0, bytes: 0, answered: 0, answeredBytes: 0 };
        const sum = bodies[key];
        for (const k of ['requests', 'bytes', 'answered', 'answeredBytes'] as const) sum[k] += b[k] - was[k];
      }
    });
    return { socket, bodies: Object.fromEntries(Object.entries(bodies).filter(([, b]) => b.requests > 0)) };
  };

  const families: Tokens[] = [];
  for (let i = 0; i < FAMILIES; i++) families.push(await login(a.app, `bytes-repl-${i}`));
  await settle();

  const rotate = async () => {
    let next = 0;
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async (_, w) => {
        // Worker w owns the families w, w + IN_FLIGHT, ...: no family has two rotations in flight.
        const mine = families.filter((_, f) => f % IN_FLIGHT === w);
        for (let k = 0; next++ < ROTATIONS; k++) {
          const f = k % mine.length;
          const res = await post(a.app, '/v1/auth/refresh', { refresh_token: mine[f]!.refresh_token });
          if (res.statusCode !== 200) throw new Error(`refresh failed: ${res.statusCode} ${res.body}`);
          mine[f] = json<Tokens>(res);
        }
      }),
    );
  };
  const t0 = performance.now();
  const busyStart = snapshot();
  await rotate();
  await settle();
  const busy = between(busyStart, snapshot());
  const seconds = (performance.now() - t0) / 1000;
  // The same time idle: what the regions send each other anyway.
  const idleStart = snapshot();
  await sleep(seconds * 1000);
  const idle = between(idleStart, snapshot());

  const replication = Object.entries(busy.bodies).filter(([k]) => k.includes('/replicat'));
  const replicationBytes = replication.reduce((n, [, b]) => n + b.bytes, 0);
  const answeredBytes = replication.reduce((n, [, b]) => n + b.answeredBytes, 0);
  process.stdout.write(
    `${JSON.stringify({
      rotations: ROTATIONS,
      families: FAMILIES,
      seconds,
      // Bodies of the batches the peers answered (each change once), and of every batch sent (retries too).
      replicationBodyBytesPerRotation: answeredBytes / ROTATIONS,
      replicationBodyBytesSentPerRotation: replicationBytes / ROTATIONS,
      replicationRequests: replication.reduce((n, [, b]) => n + b.requests, 0),
      socketBytesPerRotation: (busy.socket - idle.socket) / ROTATIONS,
      idleSocketBytes: idle.socket,
      idleBodies: idle.bodies,
      bodies: busy.bodies,
    })}\n`,
  );
} finally {
  await set.close();
}
