-- find-user-by-id: a user's record, for a password change and the admin API.
-- Inputs: $1 id.
-- Returns: zero or one row (id, username, username_normalized, password_hash,
--          home_region, disabled, created_at, password_changed_at).
SELECT id, username, username_normalized, password_hash, home_region, disabled,
       created_at, password_changed_at
FROM users
WHERE id = $1
