-- revoke-user-sessions: ends every live session of a user (logout everywhere)
-- and records one outbox row per session revoked (with the user id, from
-- which the revocation is still sent once the user is deleted), in this one
-- statement.
-- Inputs: $1 user_id, $2 now, $3 reason, $4 a session id to keep (null: none;
--         a password change keeps the caller's).
-- Returns: one row per session revoked: the family after the change, in the
--          columns of find-family.
WITH s AS (
  UPDATE sessions
  SET revoked_at = $2, revoked_reason = $3
  WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2
    AND id IS DISTINCT FROM $4::text
  RETURNING id AS session_id, user_id, region, generation AS session_generation,
            expires_at AS session_expires_at, revoked_at, dpop_jkt
), o AS (
  INSERT INTO outbox (kind, session_id, user_id, generation, created_at)
  SELECT 'revoked', s.session_id, s.user_id, s.session_generation, $2 FROM s
)
SELECT s.*, u.username, u.disabled
FROM s JOIN users u ON u.id = s.user_id
