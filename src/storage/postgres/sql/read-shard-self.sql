-- read-shard-self: which shard of its region this database is.
-- Inputs: none.
-- Returns: one row: name text (none before the first start).
SELECT name FROM shard_self;
