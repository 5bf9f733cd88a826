-- delete-user: removes an account; its sessions and refresh tokens go with it
-- (ON DELETE CASCADE), and its username is free again in this region. The
-- caller revokes the sessions first, so that their outbox rows are written.
-- In a region topology (the block marked below) the deletion is recorded in
-- the outbox in the same statement, so that every region drops its replica.
-- Inputs: $1 id; in a topology also $2 now (the outbox row's time).
-- Returns: one row (id) when the user existed.
WITH u AS (
  DELETE FROM users WHERE id = $1 RETURNING id
)
-- topology: begin
, o AS (
  INSERT INTO outbox (kind, user_id, created_at)
  SELECT 'user_deleted', u.id, $2 FROM u
)
-- topology: end
SELECT id FROM u
