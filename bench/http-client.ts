/**
 * A keep-alive HTTP/1.1 client for loopback, for the benchmark's load
 * processes: node:http with a bounded agent, answers read whole.
 */
import http from 'node:http';

export type Request = (method: string, path: string, body?: string, headers?: Record<string, string>) => Promise<{ status: number; body: string }>;

export const JSON_TYPE = { 'content-type': 'application/json' };

/** Requests to 127.0.0.1:`port` over at most `sockets` connections; `close` ends them. */
export function httpClient(port: number, sockets: number): { request: Request; close(): void } {
  const agent = new http.Agent({ keepAlive: true, maxSockets: sockets });
  const request: Request = (method, path, body, headers = {}) =>
    new Promise((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port, method, path, agent, headers: body ? { 'content-length': Buffer.byteLength(body), ...headers } : headers },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  return { request, close: () => agent.destroy() };
}
