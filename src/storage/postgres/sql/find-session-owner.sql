-- find-session-owner: which user and session a refresh token belongs to.
-- Inputs: $1 token_hash.
-- Returns: zero or one row (session_id, user_id).
SELECT session_id, user_id FROM refresh_tokens WHERE token_hash = $1
