-- lock-replica-spend: what this region knows of a token that another region
-- has just rotated: when it was consumed here and which child it has here.
-- Locks the family row first, so a local rotation of the same family waits
-- (rotate-refresh updates that row) and the check below cannot race it.
-- Inputs: $1 session id, $2 parent token_hash.
-- Returns: zero rows when the family is not held here; else one row
--          (consumed_at, child_hash), both null when unknown here.
WITH family AS (
  SELECT id FROM sessions WHERE id = $1 FOR UPDATE
)
SELECT p.consumed_at, c.token_hash AS child_hash
FROM family
LEFT JOIN refresh_tokens p ON p.token_hash = $2 AND p.session_id = family.id
LEFT JOIN refresh_tokens c ON c.session_id = family.id AND c.generation = p.generation + 1
