-- end-sessions-before: applies another region's "log out everywhere" of a
-- user here (replication kind sessions_ended): ends this region's live
-- sessions of the user started at or before the mark, but the one kept, each
-- with its outbox row (so the revocations reach every region, as any made
-- here), and keeps the mark on the user, for sessions that arrive later
-- (upsert-replica-family.sql). Nothing is announced again.
-- Inputs: $1 user_id, $2 the mark (sessions started until then end), $3 the
--         session kept (null: none), $4 now.
-- Returns: one row per session revoked, in the columns of find-session.
WITH s AS (
  UPDATE sessions
  SET revoked_at = $4, revoked_reason = 'logout_all'
  WHERE user_id = $1 AND revoked_at IS NULL AND created_at <= $2
    AND id IS DISTINCT FROM $3::text
  RETURNING id, user_id, region, generation, last_used_at, expires_at, revoked_at, dpop_jkt
), o AS (
  INSERT INTO outbox (kind, session_id, user_id, generation, created_at)
  SELECT 'revoked', s.id, s.user_id, s.generation, $4 FROM s
), mark AS (
  UPDATE users
  SET sessions_kept = CASE WHEN sessions_ended_at IS NULL OR sessions_ended_at <= $2 THEN $3::text ELSE sessions_kept END,
      sessions_ended_at = GREATEST(sessions_ended_at, $2)
  WHERE id = $1
)
SELECT s.*, u.username, u.disabled
FROM s JOIN users u ON u.id = s.user_id
