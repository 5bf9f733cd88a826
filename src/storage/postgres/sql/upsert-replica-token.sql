-- upsert-replica-token: merges one refresh token (its hash) replicated from
-- another region. Consumption only moves forward: a token consumed here
-- stays consumed, at the time it was consumed here. A token whose family is
-- not held here is skipped; so is one whose generation is taken here by
-- another token (a double spend, which the caller has already detected).
-- Inputs: $1 token_hash, $2 session_id, $3 user_id, $4 region, $5 generation,
--         $6 parent_hash, $7 created_at, $8 expires_at, $9 consumed_at.
-- Returns: nothing.
WITH upd AS (
  UPDATE refresh_tokens SET consumed_at = COALESCE(consumed_at, $9)
  WHERE token_hash = $1
  RETURNING 1
)
INSERT INTO refresh_tokens (token_hash, session_id, user_id, region, generation, parent_hash, created_at, expires_at, consumed_at)
SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9
WHERE NOT EXISTS (SELECT 1 FROM upd) AND EXISTS (SELECT 1 FROM sessions WHERE id = $2)
ON CONFLICT DO NOTHING
