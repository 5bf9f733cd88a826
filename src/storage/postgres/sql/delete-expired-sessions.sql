-- delete-expired-sessions: one small batch of token families past their
-- absolute expiry (their tokens expired no later). A revoked family is kept
-- until no access token of it can still be valid, because starting servers
-- load recent revocations from here. Batches and SKIP LOCKED as in
-- delete-expired-tokens; remaining tokens go with their family (cascade).
-- Inputs: $1 now, $2 revoked at or before (now - longest access-token
--         lifetime), $3 batch size.
-- Returns: one row (id) per family deleted.
WITH doomed AS (
  SELECT id FROM sessions
  WHERE expires_at <= $1
    AND (revoked_at IS NULL OR revoked_at <= $2)
  ORDER BY expires_at
  LIMIT $3
  FOR UPDATE SKIP LOCKED
)
DELETE FROM sessions s USING doomed
WHERE s.id = doomed.id
RETURNING s.id
