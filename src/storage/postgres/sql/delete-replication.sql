-- delete-replication: changes the target region has applied.
-- Inputs: $1 ids (text[] of bigint).
-- Returns: nothing.
DELETE FROM replication_queue WHERE id = ANY ($1::bigint[])
