-- rotate-session: one refresh, as a compare-and-set of the session row: it
-- moves to the new generation only if it is still at the generation the
-- decision read, live and unexpired; a concurrent rotation or logout makes it
-- match nothing, and then nothing at all is written. In a region topology
-- (the block marked below) the rotation is also an outbox event for the other
-- regions. No token row is read or written (see refresh-tokens.ts).
-- Inputs: $1 session id, $2 expected generation, $3 new generation, $4 now.
-- Returns: one row (generation) when the session moved; no row otherwise.
WITH s AS (
  UPDATE sessions
  SET generation = $3, last_used_at = $4
  WHERE id = $1
    AND generation = $2
    AND revoked_at IS NULL
    AND expires_at > $4
  RETURNING id, user_id, generation
)
-- topology: begin
, o AS (
  INSERT INTO outbox (kind, session_id, user_id, generation, created_at)
  SELECT 'rotated', s.id, s.user_id, s.generation, $4 FROM s
)
-- topology: end
SELECT generation FROM s
