-- replication-family: a token family as another region needs it to hold a
-- replica (its origin region, generation and when it and the one before
-- were minted, expiry, revocation, DPoP binding).
-- Inputs: $1 session id.
-- Returns: zero or one row.
SELECT id, user_id, region, generation, created_at, expires_at, last_used_at,
       revoked_at, revoked_reason, dpop_jkt, previous_rotated_at
FROM sessions
WHERE id = $1
