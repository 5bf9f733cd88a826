-- record-shard-layout: records the region's databases on its first start.
-- Inputs: $1 text[] the shard names, in slot order.
-- Returns: nothing; a layout already recorded is left alone (the caller reads it back).
INSERT INTO shard_layout (position, name)
SELECT ord::integer, name FROM unnest($1::text[]) WITH ORDINALITY AS l (name, ord)
ON CONFLICT (position) DO NOTHING;
