-- update-replica-user: a change to a user record (a password change, a
-- disable) replicated from its home region, applied only where a copy of the
-- user is held. The change goes to every region, because a region that is no
-- peer of the home may hold a copy (it came with a family from a peer); a
-- region holding none stores nothing. Only a newer record replaces the one
-- here (updated_at), so a late event never brings back an old password hash.
-- Inputs: $1 id, $2 password_hash, $3 disabled, $4 updated_at,
--         $5 password_changed_at.
-- Returns: one row (id) when the copy here was updated.
UPDATE users
SET password_hash = $2, disabled = $3, updated_at = $4, password_changed_at = $5
WHERE id = $1 AND updated_at < $4
RETURNING id
