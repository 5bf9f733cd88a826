-- find-family: a token family and its user as they are now (cache sync).
-- Inputs: $1 session id.
-- Returns: zero or one row (session_id, user_id, region, session_generation,
--          session_expires_at, revoked_at, dpop_jkt, username, disabled).
SELECT s.id AS session_id, s.user_id, s.region, s.generation AS session_generation,
       s.expires_at AS session_expires_at, s.revoked_at, s.dpop_jkt, u.username, u.disabled
FROM sessions s
JOIN users u ON u.id = s.user_id
WHERE s.id = $1
