import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import pg from 'pg';
import { childEnv } from '../src/config/load.js';
import type { ClusterInfo } from '../src/devcluster/cluster.js';
import { freePort } from '../src/devcluster/ports.js';
import { eventually, PASSWORD, PG_SERVER, type Tokens } from './helpers.js';
import { oneRegionCluster } from './one-region-cluster.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SINGAPORE = '1.29,103.85';
const DUBLIN = '53.35,-6.26';

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Polls `probe` every 200 ms until it returns a value, for at most `ms`; fails at once if the cluster exits. */
const until = <T>(child: ChildProcess, output: () => string, ms: number, probe: () => Promise<T | undefined>) =>
  eventually(
    async () => {
      if (child.exitCode !== null) throw new Error(`the cluster exited with ${child.exitCode}:\n${output()}`);
      return probe();
    },
    ms,
    () => `the cluster; its output:\n${output()}`,
    200,
  );

const call = (url: string, init: { method?: string; geo?: string; body?: unknown; token?: string } = {}) =>
  fetch(url, {
    method: init.method ?? (init.body ? 'POST' : 'GET'),
    headers: {
      ...(init.body ? { 'content-type': 'application/json' } : {}),
      ...(init.geo ? { 'x-client-geo': init.geo } : {}),
      ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
    },
    body: init.body ? JSON.stringify(init.body) : undefined,
  });

describe('meridian cluster', () => {
  it('starts three regions (two databases and a Redis Cluster each) and a gateway, serves a traveller anywhere, and stops every process on SIGTERM', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'meridian-cluster-'));
    const prefix = `meridian_test_${randomBytes(4).toString('hex')}`;
    const port = await freePort();
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'cluster', '--db-prefix', prefix, '--shards', '2', '--redis-cluster'], {
      cwd: ROOT,
      env: childEnv({
        PORT: String(port),
        MERIDIAN_DATA_DIR: dataDir,
        DATABASE_URL: PG_SERVER,
        LOG_LEVEL: 'warn',
        MERIDIAN_REGIONS_FILE: '',
        MERIDIAN_REGION_SECRET: '',
      }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout?.on('data', (d) => (output += d));
    child.stderr?.on('data', (d) => (output += d));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    let pids: number[] = [];
    try {
      const infoFile = join(dataDir, 'cluster.json');
      const info = await until(
        child,
        () => output,
        120_000,
        async () => (existsSync(infoFile) ? (JSON.parse(readFileSync(infoFile, 'utf8')) as ClusterInfo) : undefined),
      );
      pids = info.processes.map((p) => p.pid);
      assert.equal(info.gateway, `http://127.0.0.1:${port}`);
      assert.deepEqual(
        info.regions.map((r) => r.id),
        ['us-east', 'eu-west', 'ap-southeast'],
      );
      for (const r of info.regions) {
        const ready = await call(`${r.url}/readyz`);
        assert.equal(ready.status, 200, r.id);
        // --shards 2: each region names its two databases in its readiness.
        assert.deepEqual(((await ready.json()) as { checks: Record<string, string> }).checks, {
          database: 'ok',
          cache: 'ok',
          'shard:main': 'ok',
          'shard:s1': 'ok',
        });
        assert.match(r.databaseUrl, new RegExp(`/${prefix}_${r.id.replace(/-/g, '_')}$`));
        // --redis-cluster: REDIS_URL names all six nodes of the region's cluster.
        assert.match(r.redisUrl, /^redis\+cluster:\/\/(127\.0\.0\.1:\d+,){5}127\.0\.0\.1:\d+$/);
      }
      const redisNodes = Array.from({ length: 6 }, (_, i) => `redis-${i}`);
      assert.deepEqual(
        info.processes.map((p) => p.name).sort(),
        ['gateway', ...info.regions.flatMap((r) => [`${r.id}/api`, `${r.id}/worker`, ...redisNodes.map((n) => `${r.id}/${n}`)])].sort(),
        'six Redis nodes, the API and a worker per region, and the gateway',
      );
      assert.ok(pids.every(alive));

      const [usEast] = info.regions;
      const registered = await call(`${usEast!.url}/v1/auth/register`, { body: { username: 'traveller', password: PASSWORD } });
      assert.equal(registered.status, 201, await registered.clone().text());

      // In Singapore: the gateway picks ap-southeast, which sends the login to the user's home region.
      const login = await call(`${info.gateway}/v1/auth/login`, { geo: SINGAPORE, body: { username: 'traveller', password: PASSWORD } });
      assert.equal(login.status, 200, await login.clone().text());
      assert.equal(login.headers.get('x-meridian-region'), 'us-east');
      assert.equal(login.headers.get('via'), '1.1 ap-southeast, 1.1 gateway');
      const tokens = (await login.json()) as Tokens;

      // In Dublin: eu-west verifies the us-east token with the key it fetched from us-east.
      const me = await until(
        child,
        () => output,
        20_000,
        async () => {
          const res = await call(`${info.gateway}/v1/auth/me`, { geo: DUBLIN, token: tokens.access_token });
          return res.status === 200 ? res : undefined;
        },
      );
      assert.equal(me.headers.get('x-meridian-region'), 'eu-west');
      assert.equal(((await me.json()) as { region: string }).region, 'us-east');
      // eu-west (a peer of us-east) rotates it from its replica once replication brought it, else sends it to us-east.
      const refreshed = await call(`${info.gateway}/v1/auth/refresh`, { geo: DUBLIN, body: { refresh_token: tokens.refresh_token } });
      assert.equal(refreshed.status, 200);
      assert.match(((await refreshed.json()) as Tokens).refresh_token, /^us-east_/, 'the family keeps its origin region');

      // Replication brings the user record to eu-west: a login in Dublin is then decided there.
      const local = await until(
        child,
        () => output,
        20_000,
        async () => {
          const res = await call(`${info.gateway}/v1/auth/login`, { geo: DUBLIN, body: { username: 'traveller', password: PASSWORD } });
          return res.status === 200 && res.headers.get('x-meridian-region') === 'eu-west' ? ((await res.json()) as Tokens) : undefined;
        },
      );
      // A logout in Dublin reaches the verifiers of every region (through each region's worker and Redis channel).
      assert.equal((await call(`${info.gateway}/v1/auth/logout`, { geo: DUBLIN, token: local.access_token, method: 'POST' })).status, 204);
      for (const r of info.regions) {
        await until(
          child,
          () => output,
          10_000,
          async () => ((await call(`${r.url}/v1/auth/me`, { token: local.access_token })).status === 401 ? true : undefined),
        );
      }

      // The region's keys (cache entries, each queue under its own hash tag) lie on more than one master.
      const usEastCluster = new Redis.Cluster(
        usEast!.redisUrl
          .replace('redis+cluster://', '')
          .split(',')
          .map((a) => ({ host: '127.0.0.1', port: Number(a.split(':')[1]) })),
      );
      try {
        await new Promise((resolve, reject) => usEastCluster.once('ready', resolve).once('error', reject));
        const sizes = await Promise.all(usEastCluster.nodes('master').map((n) => n.dbsize()));
        assert.equal(sizes.length, 3, 'three masters');
        assert.ok(sizes.filter((n) => n > 0).length >= 2, `keys per master: ${sizes.join(', ')}`);
      } finally {
        usEastCluster.disconnect();
      }

      child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const stillRunning = new Promise((resolve) => (timer = setTimeout(() => resolve('still running'), 30_000)));
      assert.equal(await Promise.race([exited, stillRunning]), 0, output);
      clearTimeout(timer);
      assert.deepEqual(pids.filter(alive), [], 'every process of the cluster is gone');
      assert.equal(existsSync(infoFile), false, 'cluster.json is removed');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      for (const pid of pids.filter(alive)) process.kill(pid, 'SIGKILL');
      const admin = new pg.Client({ connectionString: PG_SERVER });
      await admin.connect();
      for (const id of ['us_east', 'eu_west', 'ap_southeast']) {
        for (const db of [`${prefix}_${id}`, `${prefix}_${id}_s1`]) await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
      }
      await admin.end();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('meridian cluster after its master keys were deleted', () => {
  it('keeps its databases while the keys are kept, and makes them again (rather than dying on keys it cannot decrypt) once they are gone', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'meridian-cluster-keys-'));
    const prefix = `meridian_test_${randomBytes(4).toString('hex')}`;
    const gatewayPort = await freePort();
    // One region is enough: each region's key and database are handled alike.
    const cluster = () => oneRegionCluster({ dataDir, prefix, gatewayPort });
    const run = async (body: (url: string) => Promise<void>) => {
      const c = cluster();
      try {
        await body((await c.start()).regions[0]!.url);
      } finally {
        await c.stop();
      }
    };
    const credentials = { username: 'keeper', password: PASSWORD };
    try {
      await run(async (url) => assert.equal((await call(`${url}/v1/auth/register`, { body: credentials })).status, 201));
      await run(async (url) => assert.equal((await call(`${url}/v1/auth/login`, { body: credentials })).status, 200, 'same keys: same database'));
      rmSync(join(dataDir, 'cluster', 'us-east'), { recursive: true, force: true });
      // Before, the region died here: "signing key ... cannot be decrypted".
      await run(async (url) => assert.equal((await call(`${url}/v1/auth/register`, { body: credentials })).status, 201, 'new keys: a new, empty database'));
    } finally {
      const admin = new pg.Client({ connectionString: PG_SERVER });
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS ${prefix}_us_east WITH (FORCE)`);
      await admin.end();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
