-- 022_shard_layout: the databases a region's slots are spread over, in order
-- (util/slots.ts, storage/shards/placement.ts). Written by the first start
-- and compared at every start after: the placement of every row follows
-- from this list, so a server configured with another list (a shard added
-- to or dropped from MERIDIAN_SHARDS) would look for rows where they are
-- not. Every shard of the region holds the same list.
CREATE TABLE shard_layout (
  position integer PRIMARY KEY,
  name     text NOT NULL
);
