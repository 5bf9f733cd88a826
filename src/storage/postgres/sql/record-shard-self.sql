-- record-shard-self: which shard this database is, recorded on its first start (migration 023).
-- Inputs: $1 text the shard name this server's configuration gives the database.
-- Returns: nothing; a name already recorded is left alone (read-shard-self reads it back, in a
-- statement of its own, so that it sees a name another server's first start committed meanwhile).
INSERT INTO shard_self (name) VALUES ($1) ON CONFLICT (one) DO NOTHING;
