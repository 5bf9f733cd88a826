-- read-shard-layout: the region's databases as first recorded.
-- Inputs: none.
-- Returns: one row per shard (name), in slot order; none before the first start.
SELECT name FROM shard_layout ORDER BY position;
