/**
 * `meridian cluster --ha`: the first region on a pg_auto_failover pair and a
 * Redis watched by Sentinels (the failover itself is tested on the same pair
 * in pg-failover.test.ts and redis-failover.test.ts). Here: the region
 * starts on them, serves, and leaves nothing running once stopped.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pgAutoFailoverMissing } from '../src/devcluster/failover.js';
import { freePort } from '../src/devcluster/ports.js';
import { listedHosts } from '../src/config/service-url.js';
import { PASSWORD } from './helpers.js';
import { oneRegionCluster } from './one-region-cluster.js';

const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => resolve(true)).once('error', () => resolve(false));
    s.setTimeout(1000, () => resolve(false));
  });

describe('meridian cluster --ha', { skip: pgAutoFailoverMissing() }, () => {
  it('runs a region on a PostgreSQL pair and a Sentinel-watched Redis, and stops them all', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'meridian-cluster-ha-'));
    const prefix = `meridian_test_${randomBytes(4).toString('hex')}`;
    const cluster = oneRegionCluster({ dataDir, prefix, gatewayPort: await freePort(), ha: true });
    let ports: number[] = [];
    try {
      const region = (await cluster.start()).regions[0]!;
      assert.match(region.databaseUrl, /^postgres:\/\/postgres@127\.0\.0\.1:\d+,127\.0\.0\.1:\d+\/.*target_session_attrs=read-write$/);
      assert.match(region.redisUrl, /^redis\+sentinel:\/\/(127\.0\.0\.1:\d+,){2}127\.0\.0\.1:\d+\/us-east$/);
      ports = [...listedHosts(region.databaseUrl), ...listedHosts(region.redisUrl)].map((h) => h.port!);
      const register = await fetch(`${region.url}/v1/auth/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'on-the-pair', password: PASSWORD }),
      });
      assert.equal(register.status, 201, await register.text());
    } finally {
      await cluster.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
    assert.equal(ports.length, 5);
    assert.deepEqual((await Promise.all(ports.map(listening))).filter(Boolean), [], 'no node, Redis or Sentinel is left running');
    assert.equal(existsSync(join(tmpdir(), `meridian-cluster-${prefix}-us-east-pg`)), false, "the pair's directory is removed");
  });
});
