-- record-shard-self: which shard this database is, recorded on its first start (migration 023).
-- Inputs: $1 text the shard name this server's configuration gives the database.
-- Returns: one row: name text, the name recorded (the first one given).
WITH recorded AS (INSERT INTO shard_self (name) VALUES ($1) ON CONFLICT (one) DO NOTHING RETURNING name)
SELECT name FROM recorded UNION ALL SELECT name FROM shard_self LIMIT 1;
