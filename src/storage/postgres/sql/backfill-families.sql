-- backfill-families: queues every live family that originates here for one
-- target region, so the target holds a replica it
-- can rotate locally. The target merges states that only move forward, so
-- queuing a family it already holds changes nothing there.
-- Inputs: $1 target region, $2 this region, $3 now.
-- Returns: one row (session_id) per event queued.
INSERT INTO replication_queue (target, kind, session_id, user_id, created_at)
SELECT $1, 'created', s.id, s.user_id, $3
FROM sessions s
WHERE s.region = $2 AND s.revoked_at IS NULL AND s.expires_at > $3
RETURNING session_id
