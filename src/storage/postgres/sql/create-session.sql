-- create-session: starts a token family with its generation-0 refresh token.
-- Inputs: $1 session id, $2 user_id, $3 region, $4 now, $5 session expires_at,
--         $6 token_hash, $7 token expires_at.
-- Returns: one row (id).
WITH s AS (
  INSERT INTO sessions (id, user_id, region, generation, created_at, expires_at, last_used_at)
  VALUES ($1, $2, $3, 0, $4, $5, $4)
  RETURNING id, user_id, region
)
INSERT INTO refresh_tokens (token_hash, session_id, user_id, region, generation, parent_hash, created_at, expires_at)
SELECT $6, s.id, s.user_id, s.region, 0, NULL, $4, $7 FROM s
RETURNING session_id AS id
