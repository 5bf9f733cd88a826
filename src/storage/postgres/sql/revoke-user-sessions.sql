-- revoke-user-sessions: ends every live session of a user (logout everywhere).
-- Inputs: $1 user_id, $2 now, $3 reason.
-- Returns: one row (id) per session revoked.
UPDATE sessions
SET revoked_at = $2, revoked_reason = $3
WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2
RETURNING id
