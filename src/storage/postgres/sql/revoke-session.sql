-- revoke-session: ends one session of a user (logout, reuse detection) and
-- records the revocation in the outbox (with the user id, from which the
-- revocation is still sent once the user is deleted), in this one statement.
-- Inputs: $1 session id, $2 user_id, $3 now, $4 reason.
-- Returns: one row when the session was live until now: the family after the
--          change, in the columns of find-session; else no row.
WITH s AS (
  UPDATE sessions
  SET revoked_at = $3, revoked_reason = $4
  WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL
  RETURNING id, user_id, region, generation, last_used_at, expires_at, revoked_at, dpop_jkt
), o AS (
  INSERT INTO outbox (kind, session_id, user_id, generation, created_at)
  SELECT 'revoked', s.id, s.user_id, s.generation, $3 FROM s
)
SELECT s.*, u.username, u.disabled
FROM s JOIN users u ON u.id = s.user_id
