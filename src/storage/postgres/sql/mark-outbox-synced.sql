-- mark-outbox-synced: the cache-sync jobs of these revocations are queued.
-- Inputs: $1 ids (text[] of bigint), $2 now.
-- Returns: nothing.
UPDATE outbox SET synced_at = $2 WHERE id = ANY ($1::bigint[]) AND synced_at IS NULL
