-- transactions-in-progress: how many of the transactions running when `$1` was taken still run.
-- Inputs: $1 text a pg_current_snapshot() taken after a slot was frozen.
-- Returns: one row: running integer. At 0, every write that could have missed the freeze is committed
-- or rolled back, so a copy read now holds all of the slot's writes.
SELECT count(*)::integer AS running
FROM pg_snapshot_xip($1::pg_snapshot) AS x
WHERE pg_xact_status(x) = 'in progress';
