-- replication-tokens: refresh-token rows (hashes only) named by an event.
-- Inputs: $1 token hashes (text[]).
-- Returns: one row per token found, by generation.
SELECT token_hash, session_id, user_id, region, generation, parent_hash,
       created_at, expires_at, consumed_at
FROM refresh_tokens
WHERE token_hash = ANY ($1::text[])
ORDER BY generation
