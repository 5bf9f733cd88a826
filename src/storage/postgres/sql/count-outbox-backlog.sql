-- count-outbox-backlog: how many changes wait for the relay (a metric): rows
-- not fanned out yet, and revocations whose cache sync is not queued yet.
-- Inputs: none.
-- Returns: one row (backlog).
SELECT count(*)::int AS backlog FROM outbox WHERE sent_at IS NULL OR (synced_at IS NULL AND kind = 'revoked')
