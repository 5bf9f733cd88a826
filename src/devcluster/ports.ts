import net from 'node:net';

/**
 * A TCP port that was free a moment ago on `host`, for processes that must be
 * told their port before they start (a region's URL goes into the topology
 * that every region reads). Another process could take it in between; on
 * loopback, for a local cluster or a test, that is acceptable.
 */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
