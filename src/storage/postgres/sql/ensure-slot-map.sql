-- ensure-slot-map: writes the region's slot map on its first start (main shard only).
-- Inputs: $1 text[] the configured shard names, main first (used when no layout is recorded yet).
-- Returns: nothing. An empty map becomes the even split of the 1,024 slots over the layout as
-- first recorded (so a region that began on one database keeps every slot on main when shards are
-- added), and its version 1; a map already written is left alone.
WITH names AS (
  SELECT coalesce((SELECT array_agg(name ORDER BY position) FROM shard_layout), $1::text[]) AS list
), written AS (
  INSERT INTO slot_map (slot, shard)
  SELECT s, list[(s * cardinality(list)) / 1024 + 1]
  FROM names, generate_series(0, 1023) AS s
  WHERE NOT EXISTS (SELECT 1 FROM slot_map)
  ON CONFLICT (slot) DO NOTHING
  RETURNING 1
)
UPDATE slot_map_version SET version = 1 WHERE version = 0 AND EXISTS (SELECT 1 FROM written);
