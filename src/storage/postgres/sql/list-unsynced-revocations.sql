-- list-unsynced-revocations: the oldest revocations whose cache-sync job is
-- not queued yet. Not locked: the job is queued (in Redis) between this read
-- and mark-outbox-synced, and no transaction stays open across that call.
-- Two relays may queue the same row; the job id (the row id) makes the second
-- a no-op while the first is kept, and the job is idempotent anyway.
-- Inputs: $1 batch size.
-- Returns: up to $1 rows (id as text, session_id, generation), oldest first.
SELECT id::text AS id, session_id, generation
FROM outbox
WHERE synced_at IS NULL AND kind = 'revoked'
ORDER BY id
LIMIT $1
