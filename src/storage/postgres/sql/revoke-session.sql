-- revoke-session: ends one session of a user (logout, reuse detection).
-- Inputs: $1 session id, $2 user_id, $3 now, $4 reason.
-- Returns: the session id when it was live until now, else no row.
UPDATE sessions
SET revoked_at = $3, revoked_reason = $4
WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL
RETURNING id
