-- find-session: everything a refresh decision needs, in one read: the session
-- (its live generation, when that was minted, expiry, revocation, origin
-- region, DPoP binding) and its user (username, disabled).
-- Inputs: $1 session id.
-- Returns: zero or one row (id, user_id, region, generation, last_used_at,
--          expires_at, revoked_at, dpop_jkt, username, disabled).
SELECT s.id, s.user_id, s.region, s.generation, s.last_used_at, s.expires_at,
       s.revoked_at, s.dpop_jkt, u.username, u.disabled
FROM sessions s
JOIN users u ON u.id = s.user_id
WHERE s.id = $1
