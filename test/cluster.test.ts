/**
 * `meridian start --workers 2`: two API processes on one port, sharing
 * PostgreSQL and Redis. Each request below opens a new connection, which the
 * cluster primary hands to the processes in turn.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { createDatabase, eventually, freePort, PASSWORD } from './helpers.js';
import { startRedisServer, testPrefix, type RedisServer } from './redis-server.js';

interface Reply {
  status: number;
  body: string;
}

function call(port: number, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        agent: false,
        headers: { connection: 'close', ...(payload ? { 'content-type': 'application/json' } : {}), ...headers },
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

describe('meridian start --workers 2', () => {
  let server: RedisServer;
  let db: { url: string; drop: () => Promise<void> };
  let primary: ChildProcess;
  let port: number;

  before(async () => {
    server = await startRedisServer();
    db = await createDatabase();
    port = await freePort();
    primary = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'start', '--workers', '2'], {
      env: {
        ...process.env,
        PORT: String(port),
        DATABASE_URL: db.url,
        REDIS_URL: server.url,
        MERIDIAN_REDIS_PREFIX: testPrefix('cluster'),
        MERIDIAN_MASTER_KEY: Buffer.alloc(32, 9).toString('base64url'),
        LOG_LEVEL: 'warn',
      },
      stdio: 'ignore',
    });
    await eventually(async () => (await call(port, 'GET', '/healthz').catch(() => ({ status: 0 }))).status === 200, 30_000, 'cluster listening');
  });
  after(async () => {
    if (primary.exitCode === null) primary.kill('SIGKILL');
    await db.drop();
    await server.close();
  });

  it('serves one port from two processes, and a logout in one is enforced by the other', async () => {
    assert.equal((await call(port, 'POST', '/v1/auth/register', { username: 'clustered', password: PASSWORD })).status, 201);
    const login = await call(port, 'POST', '/v1/auth/login', { username: 'clustered', password: PASSWORD });
    assert.equal(login.status, 200);
    const tokens = JSON.parse(login.body) as { access_token: string; refresh_token: string };

    // Each process has its own metrics: only the one that served the login has counted it,
    // so a /metrics without it comes from another process (once that one has started).
    const countedLogin = async () => /meridian_login_attempts_total\{[^}]*outcome="success"[^}]*\} 1/.test((await call(port, 'GET', '/metrics')).body);
    await eventually(async () => !(await countedLogin()), 30_000, 'a second process answering');
    assert.ok(await countedLogin(), 'and the first one still answers');

    const auth = { authorization: `Bearer ${tokens.access_token}` };
    const statuses = async () => {
      const seen: number[] = [];
      for (let i = 0; i < 4; i++) seen.push((await call(port, 'GET', '/v1/auth/me', undefined, auth)).status);
      return seen;
    };
    assert.deepEqual(await statuses(), [200, 200, 200, 200]);
    assert.equal((await call(port, 'POST', '/v1/auth/refresh', { refresh_token: tokens.refresh_token })).status, 200);
    assert.equal((await call(port, 'POST', '/v1/auth/logout', undefined, auth)).status, 204);
    await eventually(async () => (await statuses()).every((s) => s === 401), 5000, 'every process refuses the session');
  });

  it('stops all its processes on SIGTERM', async () => {
    const exit = new Promise<number | null>((resolve) => primary.once('exit', (code) => resolve(code)));
    primary.kill('SIGTERM');
    assert.equal(await exit, 0);
    await assert.rejects(call(port, 'GET', '/healthz'));
  });
});
