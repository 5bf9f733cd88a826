-- find-username-claim: who holds a username, at the directory region.
-- Inputs: $1 username_normalized.
-- Returns: zero or one row (user_id, home_region).
SELECT user_id, home_region FROM username_claims WHERE username_normalized = $1
