/**
 * kill -9 of the PostgreSQL primary (pg_auto_failover, synchronous standby)
 * under login, refresh and logout traffic. Meridian is given both nodes in
 * one multi-host URL and finds the new primary by itself; meanwhile requests
 * get 503 with Retry-After and nothing else, and nothing acknowledged is lost.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { throughFailover } from './failover-load.js';
import { createTestApp, login, refresh, type TestApp } from './helpers.js';
import { type PgHaPair, pgAutoFailoverMissing, startPgHaPair } from './pg-ha.js';

const CLIENTS = 6;

describe('PostgreSQL failover (pg_auto_failover)', { skip: pgAutoFailoverMissing() }, () => {
  let pair: PgHaPair;
  let t: TestApp;
  before(async () => {
    pair = await startPgHaPair();
    t = await createTestApp({ databaseUrl: pair.url });
  });
  after(async () => {
    await t?.close();
    await pair?.close();
  });

  it('a killed primary: only 503s with Retry-After, service back within 30 s, no acknowledged write lost', async () => {
    const early = await login(t.app, 'before-the-kill');
    const { load, killedAt } = await throughFailover(t.app, 'pgfail', CLIENTS, async () => {
      const primary = await pair.primary();
      pair.kill(primary);
      await pair.failedOver(primary);
    });
    await load.verify(t.db);
    assert.equal((await refresh(t.app, early.refresh_token)).statusCode, 200, 'a session begun before the kill goes on');
    console.log(`pg failover: ${JSON.stringify(load.acknowledged)} acknowledged; ${load.describeOutage(killedAt)}`);
  });
});
