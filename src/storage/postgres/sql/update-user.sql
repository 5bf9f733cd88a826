-- update-user: changes a user's record (a new password hash, or the disabled
-- flag) and, in a region topology (the block marked below), records the
-- change in the outbox in the same statement, as a user_updated event: it
-- goes to every region, and a region holding a copy of the user takes the
-- record if it is newer (update-replica-user); updated_at always moves
-- forward, even within one millisecond. Disabling does not end sessions by
-- itself: the caller revokes them (a cached family copies `disabled` without
-- a version).
-- Inputs: $1 id, $2 new password_hash (null: unchanged; else
--         password_changed_at = now), $3 disabled (null: unchanged), $4 now.
-- Returns: one row (id) when the user exists.
WITH u AS (
  UPDATE users
  SET password_hash = COALESCE($2::text, password_hash),
      password_changed_at = CASE WHEN $2::text IS NULL THEN password_changed_at ELSE $4 END,
      disabled = COALESCE($3::boolean, disabled),
      updated_at = GREATEST(updated_at + interval '1 millisecond', $4)
  WHERE id = $1
  RETURNING id
)
-- topology: begin
, o AS (
  INSERT INTO outbox (kind, user_id, created_at)
  SELECT 'user_updated', u.id, $4 FROM u
)
-- topology: end
SELECT id FROM u
