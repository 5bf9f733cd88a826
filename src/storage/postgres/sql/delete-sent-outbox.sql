-- delete-sent-outbox: one small batch of outbox rows both consumers are done
-- with: fanned out (sent_at) and, for a revocation, its cache sync queued
-- (synced_at). Batches and SKIP LOCKED as in delete-expired-tokens.
-- Inputs: $1 batch size.
-- Returns: one row (id) per outbox row deleted.
WITH doomed AS (
  SELECT id FROM outbox
  WHERE sent_at IS NOT NULL AND (kind <> 'revoked' OR synced_at IS NOT NULL)
  ORDER BY id
  LIMIT $1
  FOR UPDATE SKIP LOCKED
)
DELETE FROM outbox o USING doomed
WHERE o.id = doomed.id
RETURNING o.id::text AS id
