-- flush-rotations: writes rotations made in the region's Redis (write-behind
-- mode) to their sessions, in one statement per batch. Each is merged by
-- maximum of (generation, last_used_at), so a batch applied twice, late or
-- out of order moves nothing back, and none touches a revoked session (the
-- revocation, made here synchronously, is final). In a region topology (the
-- block marked below) every session moved forward is an outbox event too,
-- dated at its rotation, so replication carries write-behind rotations like
-- any other.
-- Inputs: $1 session ids (text[]), $2 generations (int[]), $3 rotation
--         times (timestamptz[]), one element per rotation, ids distinct.
-- Returns: one row (id) per session moved forward.
WITH s AS (
  UPDATE sessions
  SET generation = x.generation, last_used_at = x.rotated_at,
      previous_rotated_at = CASE WHEN x.generation = sessions.generation + 1 THEN sessions.last_used_at END
  FROM unnest($1::text[], $2::int[], $3::timestamptz[]) AS x (id, generation, rotated_at)
  WHERE sessions.id = x.id
    AND sessions.revoked_at IS NULL
    AND (sessions.generation, sessions.last_used_at) < (x.generation, x.rotated_at)
  RETURNING sessions.id, sessions.user_id, sessions.generation, sessions.last_used_at
)
-- topology: begin
, o AS (
  INSERT INTO outbox (kind, session_id, user_id, generation, created_at)
  SELECT 'rotated', s.id, s.user_id, s.generation, s.last_used_at FROM s
)
-- topology: end
SELECT id FROM s
