-- delete-expired-tokens: one small batch of previous-format refresh-token rows
-- (see migration 018; nothing adds to them any more) past their own expiry. The rows are picked with FOR UPDATE SKIP LOCKED: a batch never waits
-- for a rotation holding one of them (it takes others) and holds its own
-- locks only for this short statement, so refreshes are never stalled.
-- Inputs: $1 now, $2 batch size.
-- Returns: one row (token_hash) per token deleted.
WITH doomed AS (
  SELECT token_hash FROM refresh_tokens
  WHERE expires_at <= $1
  ORDER BY expires_at
  LIMIT $2
  FOR UPDATE SKIP LOCKED
)
DELETE FROM refresh_tokens t USING doomed
WHERE t.token_hash = doomed.token_hash
RETURNING t.token_hash
