-- create-session: starts a token family with its generation-0 refresh token
-- and, in a region topology (the block marked below), records the change in
-- the outbox for the other regions, all in this one statement. (The cache is
-- written by the caller.) The session is made only while the user is as the
-- login found it: enabled, with the password hash the password was checked
-- against. A password change or a disable that committed while the password
-- was being checked (after the read, before this statement) makes it match
-- nothing, so no session outlives the change it raced.
-- Inputs: $1 session id, $2 user_id, $3 region, $4 now, $5 session expires_at,
--         $6 token_hash, $7 token expires_at, $8 user_agent, $9 ip (either
--         may be null), $10 the password_hash the login checked, $11 the DPoP
--         key thumbprint the session is bound to (null: unbound).
-- Returns: one row, the new token with its family and user, in the columns of
--          find-refresh-state (the cache is written from it); no row when the
--          user changed or is disabled.
WITH s AS (
  INSERT INTO sessions (id, user_id, region, generation, created_at, expires_at, last_used_at, user_agent, ip, dpop_jkt)
  SELECT $1, u.id, $3, 0, $4, $5, $4, $8, $9, $11
  FROM users u
  WHERE u.id = $2 AND u.password_hash = $10 AND NOT u.disabled
  RETURNING id AS session_id, user_id, region, generation AS session_generation,
            expires_at AS session_expires_at, revoked_at, dpop_jkt
), t AS (
  INSERT INTO refresh_tokens (token_hash, session_id, user_id, region, generation, parent_hash, created_at, expires_at)
  SELECT $6, s.session_id, s.user_id, s.region, 0, NULL, $4, $7 FROM s
  RETURNING token_hash, generation AS token_generation, consumed_at, expires_at AS token_expires_at
)
-- topology: begin
, o AS (
  INSERT INTO outbox (kind, session_id, user_id, generation, token_hashes, created_at)
  SELECT 'created', s.session_id, s.user_id, s.session_generation, ARRAY[t.token_hash], $4 FROM s, t
)
-- topology: end
SELECT s.*, t.*, u.username, u.disabled
FROM s JOIN users u ON u.id = s.user_id, t
