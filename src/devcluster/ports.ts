import { randomInt } from 'node:crypto';
import net from 'node:net';

/**
 * Ports for processes that must be told their port before they start (a
 * region's URL goes into the topology that every region reads). They are
 * drawn below Linux's ephemeral range (32768-60999), where the kernel puts
 * the local end of every outgoing connection and every `listen(0)`: a port
 * picked there and released can be taken by a connection before its server
 * binds it. A port is never handed out twice by one process, since a plan of
 * many ports is made before any of them is bound.
 */
const LOW = 20_000;
const HIGH = 32_767;
const handedOut = new Set<number>();

/** A TCP port that was free a moment ago on `host`. Another process could take it in between; on loopback, for a local cluster or a test, that is acceptable. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = randomInt(LOW, HIGH + 1);
    if (handedOut.has(port) || !(await canBind(host, port))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error(`no free port found on ${host} between ${LOW} and ${HIGH}`);
}

function canBind(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

/** Whether something accepts a TCP connection on `host`:`port` within a second. */
export function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, host);
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
