-- lock-replica-spend: the generation this region holds of a session another
-- region has just rotated, and when that generation and the one before were
-- minted here. Locks
-- the row, so a local rotation of the same session waits (rotate-session
-- updates that row) and the double-spend check cannot race it.
-- Inputs: $1 session id.
-- Returns: zero rows when the session is not held here; else one row
--          (generation, last_used_at, previous_rotated_at).
SELECT generation, last_used_at, previous_rotated_at FROM sessions WHERE id = $1 FOR UPDATE
