-- current-snapshot: the transactions running now, for a slot move to wait out (transactions-in-progress).
-- Inputs: none.
-- Returns: one row: snapshot text.
SELECT pg_current_snapshot()::text AS snapshot;
