-- find-refresh-state: everything a refresh decision needs, in one read.
-- Inputs: $1 token_hash.
-- Returns: zero or one row: the token (generation, consumed_at, expires_at),
--          its session (generation, expires_at, revoked_at, region) and user
--          (username, disabled), and the session's DPoP binding (dpop_jkt).
SELECT t.token_hash,
       t.session_id,
       t.user_id,
       t.generation   AS token_generation,
       t.consumed_at,
       t.expires_at   AS token_expires_at,
       s.generation   AS session_generation,
       s.expires_at   AS session_expires_at,
       s.revoked_at,
       s.region,
       s.dpop_jkt,
       u.username,
       u.disabled
FROM refresh_tokens t
JOIN sessions s ON s.id = t.session_id
JOIN users u ON u.id = t.user_id
WHERE t.token_hash = $1
