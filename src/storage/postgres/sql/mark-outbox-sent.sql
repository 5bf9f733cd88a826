-- mark-outbox-sent: the relay enqueued these rows; runs in the claiming transaction.
-- Inputs: $1 ids (text[] of bigint), $2 now.
-- Returns: nothing.
UPDATE outbox SET sent_at = $2 WHERE id = ANY ($1::bigint[])
