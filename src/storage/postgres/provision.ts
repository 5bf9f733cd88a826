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
