-- list-user-sessions: the live sessions of a user, as the user sees them:
-- not revoked, not past their absolute expiry, and not idle-expired (the live
-- generation was minted, at last_used_at, after the idle cutoff).
-- Inputs: $1 user_id, $2 now, $3 idle cutoff (now - idle TTL).
-- Returns: one row per live session (id, region, created_at, last_used_at,
--          user_agent, ip), newest first.
SELECT s.id, s.region, s.created_at, s.last_used_at, s.user_agent, s.ip
FROM sessions s
WHERE s.user_id = $1
  AND s.revoked_at IS NULL
  AND s.expires_at > $2
  AND s.last_used_at > $3
ORDER BY s.created_at DESC, s.id
