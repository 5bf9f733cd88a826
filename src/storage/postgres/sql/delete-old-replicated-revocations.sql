-- delete-old-replicated-revocations: one small batch of revocations from
-- other regions whose families have all expired: until then a late event of
-- the family may still arrive and must find it revoked. Batches and SKIP
-- LOCKED as in delete-expired-tokens.
-- Inputs: $1 revoked at or before (now - absolute session lifetime), $2 batch size.
-- Returns: one row (session_id) per row deleted.
WITH doomed AS (
  SELECT session_id FROM replicated_revocations
  WHERE revoked_at <= $1 AND received_at <= $1
  LIMIT $2
  FOR UPDATE SKIP LOCKED
)
DELETE FROM replicated_revocations r USING doomed
WHERE r.session_id = doomed.session_id
RETURNING r.session_id
