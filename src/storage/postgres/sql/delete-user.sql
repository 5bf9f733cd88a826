-- delete-user: removes an account; its sessions and refresh tokens go with it
-- (ON DELETE CASCADE), and its username is free again in this region. The
-- caller revokes the sessions first, so that their outbox rows are written.
-- Inputs: $1 id.
-- Returns: one row (id) when the user existed.
DELETE FROM users WHERE id = $1 RETURNING id
