-- record-replicated-revocation: a revocation made in another region. It is
-- kept whether or not the family is held here (see migration 012), and ends
-- the family here when it is; the earliest revocation time wins, and nothing
-- ever clears one.
-- Inputs: $1 session id, $2 user_id, $3 revoked_at, $4 now (received), $5 reason.
-- Returns: one row (new: true when this region had not heard of it before).
WITH r AS (
  INSERT INTO replicated_revocations (session_id, user_id, revoked_at, received_at)
  VALUES ($1, $2, $3, $4)
  ON CONFLICT (session_id) DO UPDATE SET revoked_at = LEAST(replicated_revocations.revoked_at, EXCLUDED.revoked_at)
  RETURNING (xmax = 0) AS new
), s AS (
  UPDATE sessions SET revoked_at = LEAST(revoked_at, $3), revoked_reason = COALESCE(revoked_reason, $5)
  WHERE id = $1
  RETURNING id
)
SELECT r.new FROM r
