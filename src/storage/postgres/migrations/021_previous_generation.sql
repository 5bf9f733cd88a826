-- 021_previous_generation: when the generation before the live one was
-- minted, beside when the live one was (last_used_at). Replication compares
-- the generation a region sends with the one held here to find a double
-- spend (one generation minted in two regions, further apart than the grace
-- window); keeping the previous pair too lets it find one that either side
-- has already rotated past once. Null where unknown (rows of earlier
-- releases, a rotation that skipped generations).
ALTER TABLE sessions ADD COLUMN previous_rotated_at timestamptz;
