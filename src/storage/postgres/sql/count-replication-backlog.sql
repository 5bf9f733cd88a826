-- count-replication-backlog: changes waiting for delivery, per target region.
-- Inputs: none.
-- Returns: one row per target with a backlog (target, backlog).
SELECT target, count(*)::int AS backlog FROM replication_queue GROUP BY target
