/**
 * kill -9 of the PostgreSQL primary (pg_auto_failover, synchronous standby)
 * under login, refresh and logout traffic. Meridian is given both nodes in
 * one multi-host URL and finds the new primary by itself; meanwhile requests
 * get 503 with Retry-After and nothing else, and nothing acknowledged is lost.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AuthLoad } from './failover-load.js';
import { createTestApp, eventually, login, refresh, type TestApp } from './helpers.js';
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
    const load = new AuthLoad(t.app, 'pgfail', CLIENTS);
    try {
      await eventually(() => load.cyclesSince(0) >= CLIENTS, 20_000, 'traffic before the kill');
      const early = await login(t.app, 'before-the-kill');
      const primary = await pair.primary();
      const killedAt = performance.now();
      pair.kill(primary);
      await pair.failedOver(primary);
      // Back: every client has been through a whole cycle begun after the kill.
      await eventually(() => load.cyclesSince(killedAt) >= CLIENTS || load.wrong.length > 0, 30_000, 'every client to complete a cycle after the kill');
      await load.stop();
      assert.deepEqual(load.wrong, []);
      await load.verify(t.db);
      assert.equal((await refresh(t.app, early.refresh_token)).statusCode, 200, 'a session begun before the kill goes on');
      const outage = load.outage(killedAt);
      const back = load.answers.find((a) => a.at > killedAt + (outage?.last ?? 0) && a.status < 300)!.at - killedAt;
      console.log(
        `pg failover: ${JSON.stringify(load.acknowledged)} acknowledged; ` +
          (outage ? `503 from ${Math.round(outage.first)} to ${Math.round(outage.last)} ms after the kill (${outage.count} answers); ` : 'no 503; ') +
          `first success after the outage ${Math.round(back)} ms after the kill`,
      );
    } finally {
      await load.stop();
    }
  });
});
