-- enqueue-replication: copies outbox events into the replication queue, one
-- row per (event, target region); runs in the relay's claiming transaction,
-- so an event is queued for its targets exactly when it is marked sent.
-- Inputs: parallel arrays, one element per row: $1 target, $2 kind,
--         $3 session_id, $4 user_id, $5 token_hashes (each a comma-joined
--         text, '' for none), $6 created_at.
-- Returns: nothing.
INSERT INTO replication_queue (target, kind, session_id, user_id, token_hashes, created_at)
SELECT x.target, x.kind, x.session_id, x.user_id,
       CASE WHEN x.hashes = '' THEN '{}'::text[] ELSE string_to_array(x.hashes, ',') END,
       x.created_at
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[])
     AS x (target, kind, session_id, user_id, hashes, created_at)
