-- replication-user: a user record as another region needs it to log the user
-- in locally (the password hash included).
-- Inputs: $1 user id.
-- Returns: zero or one row.
SELECT id, username, username_normalized, password_hash, home_region, disabled,
       created_at, updated_at, password_changed_at
FROM users
WHERE id = $1
