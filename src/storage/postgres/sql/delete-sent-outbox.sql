-- delete-sent-outbox: one small batch of outbox rows the relay has sent.
-- Batches and SKIP LOCKED as in delete-expired-tokens.
-- Inputs: $1 batch size.
-- Returns: one row (id) per outbox row deleted.
WITH doomed AS (
  SELECT id FROM outbox
  WHERE sent_at IS NOT NULL
  ORDER BY id
  LIMIT $1
  FOR UPDATE SKIP LOCKED
)
DELETE FROM outbox o USING doomed
WHERE o.id = doomed.id
RETURNING o.id::text AS id
