-- create-session: starts a session (a refresh-token family) at generation 0
-- and, in a region topology (the block marked below), records the change in
-- the outbox for the other regions, all in this one statement. (The cache is
-- written by the caller.) The session is made only while the user is as the
-- login found it: enabled, with the password hash the password was checked
-- against. A password change or a disable that committed while the password
-- was being checked (after the read, before this statement) makes it match
-- nothing, so no session outlives the change it raced.
-- Inputs: $1 session id, $2 user_id, $3 region, $4 now, $5 session expires_at,
--         $6 user_agent, $7 ip (either may be null), $8 the password_hash the
--         login checked, $9 the DPoP key thumbprint the session is bound to
--         (null: unbound).
-- Returns: one row, the session and its user in the columns of find-session;
--          no row when the user changed or is disabled.
WITH s AS (
  INSERT INTO sessions (id, user_id, region, generation, created_at, expires_at, last_used_at, user_agent, ip, dpop_jkt)
  SELECT $1, u.id, $3, 0, $4, $5, $4, $6, $7, $9
  FROM users u
  WHERE u.id = $2 AND u.password_hash = $8 AND NOT u.disabled
  RETURNING id, user_id, region, generation, last_used_at, expires_at, revoked_at, dpop_jkt
)
-- topology: begin
, o AS (
  INSERT INTO outbox (kind, session_id, user_id, generation, created_at)
  SELECT 'created', s.id, s.user_id, s.generation, $4 FROM s
)
-- topology: end
SELECT s.*, u.username, u.disabled
FROM s JOIN users u ON u.id = s.user_id
