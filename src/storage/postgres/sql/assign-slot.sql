-- assign-slot: the cut-over of a slot move (main shard): the slot is now on another shard.
-- Inputs: $1 integer slot, $2 text shard name.
-- Returns: one row: version bigint, the map's new version.
WITH moved AS (UPDATE slot_map SET shard = $2 WHERE slot = $1 RETURNING 1)
UPDATE slot_map_version SET version = version + 1 WHERE EXISTS (SELECT 1 FROM moved) RETURNING version;
