import pg from 'pg';
import { ConfigError } from '../../config/load.js';

/**
 * Databases for a development cluster (`meridian cluster`), made on one
 * PostgreSQL server: the only statements Meridian runs outside a region's own
 * database. Names are the cluster's own (its --db-prefix), quoted as
 * identifiers.
 */
export /** Creates the databases that do not exist yet; `fresh` drops the existing ones first. Returns those dropped. */
async function provisionDatabases(serverUrl: string, names: string[], o: { fresh: boolean; prefix: string }): Promise<string[]> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  const dropped: string[] = [];
  try {
    for (const name of names) {
      const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
      if (exists.rowCount && o.fresh) {
        try {
          await client.query(`DROP DATABASE "${name}"`);
        } catch (err) {
          // Never taken from under a running cluster: it would lose its database mid-flight.
          if ((err as { code?: string }).code === '55006')
            throw new ConfigError(`database ${name} is in use (another cluster with --db-prefix ${o.prefix}?): stop it, or use another --db-prefix`);
          throw err;
        }
        dropped.push(name);
      } else if (exists.rowCount) continue;
      try {
        await client.query(`CREATE DATABASE "${name}"`);
      } catch (err) {
        // Created meanwhile by another cluster starting: fine.
        if ((err as { code?: string }).code !== '42P04') throw err;
      }
    }
  } finally {
    await client.end();
  }
  return dropped;
}

/**
 * Sets a pg_auto_failover monitor's timings (ALTER SYSTEM, then a reload):
 * the local cluster and the tests want a failover in seconds, not the
 * production defaults' half a minute.
 */
export async function tuneFailoverMonitor(monitorUrl: string, settings: Readonly<Record<string, number>>): Promise<void> {
  await onServer(monitorUrl, async (c) => {
    for (const [name, value] of Object.entries(settings)) {
      if (!/^pgautofailover\.[a-z_]+$/.test(name)) throw new Error(`not a monitor setting: ${name}`);
      await c.query(`ALTER SYSTEM SET ${name} = ${Number(value)}`);
    }
    await c.query('SELECT pg_reload_conf()');
  });
}

/** Each node the monitor knows, in the order they joined, with the state it last reported. */
export function failoverNodes(monitorUrl: string): Promise<{ port: number; state: string }[]> {
  return onServer(monitorUrl, async (c) => {
    const { rows } = await c.query<{ nodeport: number; reportedstate: string }>('SELECT nodeport, reportedstate FROM pgautofailover.node ORDER BY nodeid');
    return rows.map((r) => ({ port: r.nodeport, state: r.reportedstate }));
  });
}

/**
 * An immediate checkpoint. A standby's first copy (pg_basebackup) waits for a
 * spread checkpoint, which on an idle server can take minutes.
 */
export function checkpoint(serverUrl: string): Promise<void> {
  return onServer(serverUrl, async (c) => {
    await c.query('CHECKPOINT');
  });
}

async function onServer<T>(url: string, run: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
  client.on('error', () => {});
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end().catch(() => {});
  }
}
