-- read-slot-map: the region's slot map (main shard).
-- Inputs: none.
-- Returns: one row: version bigint, shards text[] (the shard of slot i at index i + 1).
SELECT (SELECT version FROM slot_map_version) AS version, array_agg(shard ORDER BY slot) AS shards FROM slot_map;
