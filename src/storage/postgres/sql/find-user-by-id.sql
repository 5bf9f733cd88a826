-- find-user-by-id: a user's record, for a password change, the admin API and
-- the check of a forwarded refresh against the user's sessions-ended mark.
-- Inputs: $1 id.
-- Returns: zero or one row (id, username, username_normalized, password_hash,
--          home_region, disabled, created_at, password_changed_at,
--          sessions_ended_at, sessions_kept).
SELECT id, username, username_normalized, password_hash, home_region, disabled,
       created_at, password_changed_at, sessions_ended_at, sessions_kept
FROM users
WHERE id = $1
