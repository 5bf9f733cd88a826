-- claim-replication: the oldest undelivered changes for one target region,
-- locked for the sender's transaction (which holds them while it calls the
-- target and deletes them once the target has applied them).
-- Inputs: $1 target region, $2 batch size.
-- Returns: up to $2 rows (id as text, kind, session_id, user_id,
--          token_hashes, created_at), oldest first.
SELECT id::text AS id, kind, session_id, user_id, token_hashes, created_at
FROM replication_queue
WHERE target = $1
ORDER BY id
LIMIT $2
FOR UPDATE SKIP LOCKED
