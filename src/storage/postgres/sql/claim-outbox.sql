-- claim-outbox: the oldest outbox rows not yet fanned out, locked for the
-- relay's transaction (which copies them to replication_queue and marks them
-- sent; no call outside PostgreSQL happens inside it). SKIP LOCKED lets
-- several relays run side by side, each taking rows the others have not; a
-- relay that dies releases its rows unsent.
-- Inputs: $1 batch size.
-- Returns: up to $1 rows (id as text, kind, session_id, user_id, generation,
--          token_hashes, created_at), oldest first.
SELECT id::text AS id, kind, session_id, user_id, generation, token_hashes, created_at
FROM outbox
WHERE sent_at IS NULL
ORDER BY id
LIMIT $1
FOR UPDATE SKIP LOCKED
