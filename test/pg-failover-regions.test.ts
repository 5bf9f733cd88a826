/**
 * kill -9 of a region's PostgreSQL primary while it replicates to another
 * region: the changes it acknowledged, queued for the other region in the
 * same transactions, are on the promoted standby and still arrive there.
 */
import { after, before, describe, it } from 'node:test';
import { throughFailover } from './failover-load.js';
import { eventually, type TestApp } from './helpers.js';
import { type PgHaPair, pgAutoFailoverMissing, startPgHaPair } from './pg-ha.js';
import { type RegionSet, startRegions, syncKeys } from './regions-harness.js';

const CLIENTS = 4;

describe('PostgreSQL failover during replication to another region', { skip: pgAutoFailoverMissing() }, () => {
  let pair: PgHaPair;
  let set: RegionSet;
  before(async () => {
    pair = await startPgHaPair();
    set = await startRegions(
      [
        { id: 'a', lat: 38.9, lon: -77.0 },
        { id: 'b', lat: 53.3, lon: -6.3 },
      ],
      { directory: 'a', workers: true, databaseUrls: { a: pair.url } },
    );
    await syncKeys(set);
  });
  after(async () => {
    await set?.close();
    await pair?.close();
  });

  const backlog = async (t: TestApp) =>
    Number(
      (await t.db.query<{ n: string }>('SELECT (SELECT count(*) FROM outbox WHERE sent_at IS NULL) + (SELECT count(*) FROM replication_queue) AS n')).rows[0]!
        .n,
    );

  it('every acknowledged registration, rotation and logout of the region reaches the other', async () => {
    const a = set.nodes.a!.t;
    const { load, killedAt } = await throughFailover(a.app, 'repl', CLIENTS, async () => {
      const primary = await pair.primary();
      pair.kill(primary);
      await pair.failedOver(primary);
    });
    await load.verify(a.db);
    await eventually(async () => (await backlog(a)) === 0, 30_000, "region a's backlog to be sent");
    await load.verify(set.nodes.b!.t.db);
    console.log(
      `pg failover with replication: ${JSON.stringify(load.acknowledged)} acknowledged, all of it at the other region; ${load.describeOutage(killedAt)}`,
    );
  });
});
