-- lock-replication-target: one sender per target region at a time, however
-- many workers run, so changes reach a region in the order they were made.
-- Released when the sender's transaction ends.
-- Inputs: $1 target region.
-- Returns: one row (locked: boolean); false when another sender holds it.
SELECT pg_try_advisory_xact_lock(hashtext('meridian-replication:' || $1)) AS locked
