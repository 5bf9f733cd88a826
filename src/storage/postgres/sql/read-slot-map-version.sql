-- read-slot-map-version: polled by every process of a sharded region, every second.
-- Inputs: none.
-- Returns: one row: version bigint.
SELECT version FROM slot_map_version;
