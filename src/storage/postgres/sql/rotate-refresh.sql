-- rotate-refresh: consumes the live token of a family and inserts its child,
-- atomically, and in a region topology (the block marked below) records the
-- rotation in the outbox for the other regions. (The cache is written by the caller: a rotation the
-- cache missed is safe, see sessions.ts.) The session row is the
-- family's lock: its UPDATE succeeds only if the family is still at the
-- expected generation, live and unexpired, and the parent is unconsumed; a
-- concurrent rotation or logout makes it match nothing, and then nothing at
-- all is written (no token, no outbox row).
-- Inputs: $1 session_id, $2 expected generation, $3 parent token_hash,
--         $4 child token_hash, $5 child expires_at, $6 now, $7 the DPoP key
--         thumbprint the refresh proved (null: none). A bound family rotates only
--         with its own key; an unbound one is bound by a refresh with a key.
-- Returns: on success two rows, the consumed parent then the child, each with
--          the family and user after the rotation, in the columns of
--          find-refresh-state; no row otherwise.
WITH s AS (
  UPDATE sessions
  SET generation = generation + 1, last_used_at = $6, dpop_jkt = COALESCE(dpop_jkt, $7)
  WHERE id = $1
    AND generation = $2
    AND revoked_at IS NULL
    AND expires_at > $6
    AND (dpop_jkt IS NULL OR dpop_jkt = $7)
    AND EXISTS (SELECT 1 FROM refresh_tokens
                WHERE token_hash = $3 AND consumed_at IS NULL AND generation = $2)
  RETURNING id AS session_id, user_id, region, generation AS session_generation,
            expires_at AS session_expires_at, revoked_at, dpop_jkt
), parent AS (
  UPDATE refresh_tokens SET consumed_at = $6
  WHERE token_hash = $3 AND session_id IN (SELECT session_id FROM s)
  RETURNING token_hash, generation AS token_generation, consumed_at, expires_at AS token_expires_at
), child AS (
  INSERT INTO refresh_tokens (token_hash, session_id, user_id, region, generation, parent_hash, created_at, expires_at)
  SELECT $4, s.session_id, s.user_id, s.region, s.session_generation, parent.token_hash, $6, $5
  FROM s, parent
  RETURNING token_hash, generation AS token_generation, consumed_at, expires_at AS token_expires_at
)
-- topology: begin
, o AS (
  INSERT INTO outbox (kind, session_id, user_id, generation, token_hashes, created_at)
  SELECT 'rotated', s.session_id, s.user_id, s.session_generation, ARRAY[parent.token_hash, child.token_hash], $6
  FROM s, parent, child
)
-- topology: end
, t AS (
  SELECT * FROM parent UNION ALL SELECT * FROM child
)
SELECT s.*, t.*, u.username, u.disabled
FROM s JOIN users u ON u.id = s.user_id, t
ORDER BY t.token_generation
