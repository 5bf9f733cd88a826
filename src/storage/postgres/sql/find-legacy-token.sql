-- find-legacy-token: what a refresh token of the format before release 018
-- stands for (only its SHA-256 was stored). Read once per such token: its
-- successor is of the current format, which needs no row.
-- Inputs: $1 token_hash.
-- Returns: zero or one row (session_id, generation).
SELECT session_id, generation FROM refresh_tokens WHERE token_hash = $1
