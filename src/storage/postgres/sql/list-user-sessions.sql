-- list-user-sessions: the live sessions of a user, as the user sees them:
-- not revoked, not past their absolute expiry, and with a live refresh token
-- (the family's current generation, unexpired: past it the session is
-- idle-expired).
-- Inputs: $1 user_id, $2 now.
-- Returns: one row per live session (id, region, created_at, last_used_at,
--          user_agent, ip), newest first.
SELECT s.id, s.region, s.created_at, s.last_used_at, s.user_agent, s.ip
FROM sessions s
JOIN refresh_tokens t ON t.session_id = s.id AND t.generation = s.generation
WHERE s.user_id = $1
  AND s.revoked_at IS NULL
  AND s.expires_at > $2
  AND t.expires_at > $2
ORDER BY s.created_at DESC, s.id
