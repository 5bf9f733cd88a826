-- upsert-replica-family: merges a session (token family) replicated from
-- another region into this region's copy. The merge only moves forward, so
-- events may arrive late, twice or out of order: (generation, last_used_at)
-- is the highest pair seen, the revocation the earliest seen (a revocation is never undone, and
-- one received before its family is taken from replicated_revocations).
-- Skipped when the user is not held here. A session the user's sessions were
-- all ended after (a logout everywhere it was not known to; migration 020)
-- is stored ended at that mark. A DPoP binding, once set, never changes: the
-- first one seen stays.
-- Inputs: $1 id, $2 user_id, $3 region (origin), $4 generation, $5 created_at,
--         $6 expires_at, $7 last_used_at, $8 revoked_at, $9 revoked_reason,
--         $10 dpop_jkt (null: unbound), $11 when the generation before $4
--         was minted (null: unknown); it goes with the generation.
-- Returns: one row (id, revoked_at) when the family is held here afterwards.
INSERT INTO sessions (id, user_id, region, generation, created_at, expires_at, last_used_at, revoked_at, revoked_reason, dpop_jkt, previous_rotated_at)
SELECT $1, $2, $3, $4, $5, $6, $7,
       LEAST($8::timestamptz, r.revoked_at, ended.at),
       CASE WHEN $8::timestamptz IS NOT NULL THEN $9::text WHEN r.revoked_at IS NOT NULL THEN 'revoked' WHEN ended.at IS NOT NULL THEN 'logout_all' END,
       $10, $11
FROM users u
LEFT JOIN replicated_revocations r ON r.session_id = $1
LEFT JOIN LATERAL (
  SELECT u.sessions_ended_at AS at WHERE u.sessions_ended_at >= $5 AND $1 IS DISTINCT FROM u.sessions_kept
) ended ON true
WHERE u.id = $2
ON CONFLICT (id) DO UPDATE SET
  generation = GREATEST(sessions.generation, EXCLUDED.generation),
  -- When the live generation was minted goes with the generation: (generation, last_used_at) merges by maximum as a pair.
  last_used_at = CASE
    WHEN EXCLUDED.generation > sessions.generation THEN EXCLUDED.last_used_at
    WHEN EXCLUDED.generation = sessions.generation THEN GREATEST(sessions.last_used_at, EXCLUDED.last_used_at)
    ELSE sessions.last_used_at
  END,
  -- One ahead of the copy here: the generation before it is the one held here, whose minting is known
  -- here even when the sender's row does not know it (it skipped that generation), and is kept for the
  -- double-spend check against a third region's copy.
  previous_rotated_at = CASE
    WHEN EXCLUDED.generation = sessions.generation + 1 THEN COALESCE(EXCLUDED.previous_rotated_at, sessions.last_used_at)
    WHEN EXCLUDED.generation > sessions.generation THEN EXCLUDED.previous_rotated_at
    ELSE sessions.previous_rotated_at
  END,
  revoked_at = LEAST(sessions.revoked_at, EXCLUDED.revoked_at),
  revoked_reason = COALESCE(sessions.revoked_reason, EXCLUDED.revoked_reason),
  dpop_jkt = COALESCE(sessions.dpop_jkt, EXCLUDED.dpop_jkt)
RETURNING id, revoked_at
