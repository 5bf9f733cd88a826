-- count-outbox-backlog: how many changes wait for the relay (a metric).
-- Inputs: none.
-- Returns: one row (backlog).
SELECT count(*)::int AS backlog FROM outbox WHERE sent_at IS NULL
