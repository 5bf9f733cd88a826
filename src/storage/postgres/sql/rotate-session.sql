-- rotate-session: one refresh, as a compare-and-set of the session row: it
-- moves to the new generation only if it is still at the generation the
-- decision read, live and unexpired; a concurrent rotation or logout makes it
-- match nothing, and then nothing at all is written. In a region topology
-- (the block marked below) the rotation is also an outbox event for the other
-- regions. No token row is read or written (see refresh-tokens.ts). A
-- session bound to a DPoP key rotates only with a proof by that key; an
-- unbound one is bound by a refresh that brings one.
-- Inputs: $1 session id, $2 expected generation, $3 new generation, $4 now,
--         $5 the DPoP key thumbprint the refresh proved (null: none), $6 the
--         lowest generation accepted: $2 itself, but for a write-behind
--         rotation made here (PostgreSQL may lag the cache's generation by
--         rotations not flushed yet), 0.
-- Returns: one row (generation) when the session moved; no row otherwise.
WITH s AS (
  UPDATE sessions
  SET generation = $3, last_used_at = $4, dpop_jkt = COALESCE(dpop_jkt, $5),
      previous_rotated_at = CASE WHEN $3 = generation + 1 THEN last_used_at END
  WHERE id = $1
    AND generation <= $2
    AND generation >= $6
    AND revoked_at IS NULL
    AND expires_at > $4
    AND (dpop_jkt IS NULL OR dpop_jkt = $5)
  RETURNING id, user_id, generation
)
-- topology: begin
, o AS (
  INSERT INTO outbox (kind, session_id, user_id, generation, created_at)
  SELECT 'rotated', s.id, s.user_id, s.generation, $4 FROM s
)
-- topology: end
SELECT generation FROM s
