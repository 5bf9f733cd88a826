-- rotate-refresh: consumes the live token of a family and inserts its child,
-- atomically. The session row is the family's lock: its UPDATE succeeds only
-- if the family is still at the expected generation, live and unexpired, and
-- the parent is unconsumed; a concurrent rotation or logout makes it match
-- nothing, and then nothing at all is written.
-- Inputs: $1 session_id, $2 expected generation, $3 parent token_hash,
--         $4 child token_hash, $5 child expires_at, $6 now.
-- Returns: one row (generation of the child) on success, none otherwise.
WITH s AS (
  UPDATE sessions
  SET generation = generation + 1, last_used_at = $6
  WHERE id = $1
    AND generation = $2
    AND revoked_at IS NULL
    AND expires_at > $6
    AND EXISTS (SELECT 1 FROM refresh_tokens
                WHERE token_hash = $3 AND consumed_at IS NULL AND generation = $2)
  RETURNING id, user_id, region, generation
), parent AS (
  UPDATE refresh_tokens SET consumed_at = $6
  WHERE token_hash = $3 AND session_id IN (SELECT id FROM s)
  RETURNING token_hash
)
INSERT INTO refresh_tokens (token_hash, session_id, user_id, region, generation, parent_hash, created_at, expires_at)
SELECT $4, s.id, s.user_id, s.region, s.generation, parent.token_hash, $6, $5
FROM s, parent
RETURNING generation
