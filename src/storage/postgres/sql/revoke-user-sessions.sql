-- revoke-user-sessions: ends every live session of a user (logout everywhere)
-- and records one outbox row per session revoked (with the user id, from
-- which the revocation is still sent once the user is deleted), in this one
-- statement. It also marks the user: sessions started until now, but the one
-- kept, are ended (see migration 020), and in a region topology (the block
-- marked below) announces the mark to every region, for the sessions no one
-- here has heard of yet.
-- Inputs: $1 user_id, $2 now, $3 reason, $4 a session id to keep (null: none;
--         a password change keeps the caller's).
-- Returns: one row per session revoked: the family after the change, in the
--          columns of find-session.
WITH s AS (
  UPDATE sessions
  SET revoked_at = $2, revoked_reason = $3
  WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2
    AND id IS DISTINCT FROM $4::text
  RETURNING id, user_id, region, generation, last_used_at, expires_at, revoked_at, dpop_jkt
), o AS (
  INSERT INTO outbox (kind, session_id, user_id, generation, created_at)
  SELECT 'revoked', s.id, s.user_id, s.generation, $2 FROM s
), mark AS (
  UPDATE users
  SET sessions_kept = CASE WHEN sessions_ended_at IS NULL OR sessions_ended_at <= $2 THEN $4::text ELSE sessions_kept END,
      sessions_ended_at = GREATEST(sessions_ended_at, $2)
  WHERE id = $1
  RETURNING id
)
-- topology: begin
, announce AS (
  INSERT INTO outbox (kind, session_id, user_id, created_at)
  SELECT 'sessions_ended', $4::text, mark.id, $2 FROM mark
)
-- topology: end
SELECT s.*, u.username, u.disabled
FROM s JOIN users u ON u.id = s.user_id
