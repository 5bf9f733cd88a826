-- count-active-sessions: sessions whose refresh token can still be used: not
-- revoked, before their absolute expiry, and used within the idle window
-- (last_used_at moves on every rotation, so this matches the live token's
-- expiry without joining refresh_tokens). Read on metrics scrapes, at most
-- every few seconds; sessions_expires_at_idx bounds the scan.
-- Inputs: $1 now, $2 idle cutoff (now - idle TTL).
-- Returns: one row (count).
SELECT count(*)::int AS count
FROM sessions
WHERE expires_at > $1 AND revoked_at IS NULL AND last_used_at > $2
