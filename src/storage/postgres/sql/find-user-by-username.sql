-- find-user-by-username: the login lookup.
-- Inputs: $1 username_normalized.
-- Returns: zero or one row (id, username, password_hash, disabled).
SELECT id, username, password_hash, disabled
FROM users
WHERE username_normalized = $1
