-- backfill-revocations: queues the revocations made here whose access tokens
-- may still be unexpired, for one target region, so its verifiers refuse them.
-- Inputs: $1 target region, $2 revoked after (now - longest access-token lifetime), $3 now.
-- Returns: one row (session_id) per event queued.
INSERT INTO replication_queue (target, kind, session_id, user_id, created_at)
SELECT $1, 'revoked', id, user_id, $3 FROM sessions WHERE revoked_at > $2
RETURNING session_id
