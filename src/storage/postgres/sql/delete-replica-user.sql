-- delete-replica-user: applies the deletion of a user of another region:
-- drops this region's replica of the user (its replicated sessions and
-- tokens go with it, ON DELETE CASCADE) and keeps a tombstone of the id,
-- which upsert-replica-user checks, so a late record never resurrects it.
-- Applying it twice, or before the user was ever held here, ends the same.
-- Inputs: $1 user id, $2 deleted_at (at its home region).
-- Returns: one row (id) when a replica was held here.
WITH t AS (
  INSERT INTO deleted_users (id, deleted_at) VALUES ($1, $2)
  ON CONFLICT (id) DO NOTHING
)
DELETE FROM users WHERE id = $1 RETURNING id
