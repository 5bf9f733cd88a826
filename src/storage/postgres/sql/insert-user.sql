-- insert-user: registers a user unless the normalized username exists, and
-- (in a region topology: the block marked below) records the new user in the
-- outbox in the same statement, so that nearby regions receive the record
-- for local logins.
-- Inputs: $1 id, $2 username, $3 username_normalized, $4 password_hash,
--         $5 home_region, $6 now.
-- Returns: the new row (id, username, home_region, created_at), or no row
--          when the username is taken (the unique index decides races).
WITH u AS (
  INSERT INTO users (id, username, username_normalized, password_hash, home_region,
                     created_at, updated_at, password_changed_at)
  VALUES ($1, $2, $3, $4, $5, $6, $6, $6)
  ON CONFLICT (username_normalized) DO NOTHING
  RETURNING id, username, home_region, created_at
)
-- topology: begin
, o AS (
  INSERT INTO outbox (kind, user_id, created_at)
  SELECT 'user_created', u.id, $6 FROM u
)
-- topology: end
SELECT * FROM u
