-- backfill-users: queues every user at home in this region for one target
-- region (a region added to the topology gets the records local logins need).
-- Inputs: $1 target region, $2 this region, $3 now.
-- Returns: one row (user_id) per event queued.
INSERT INTO replication_queue (target, kind, user_id, created_at)
SELECT $1, 'user_created', id, $3 FROM users WHERE home_region = $2
RETURNING user_id
