-- insert-user: registers a user unless the normalized username exists.
-- Inputs: $1 id, $2 username, $3 username_normalized, $4 password_hash,
--         $5 home_region, $6 now.
-- Returns: the new row (id, username, home_region, created_at), or no row
--          when the username is taken (the unique index decides races).
INSERT INTO users (id, username, username_normalized, password_hash, home_region,
                   created_at, updated_at, password_changed_at)
VALUES ($1, $2, $3, $4, $5, $6, $6, $6)
ON CONFLICT (username_normalized) DO NOTHING
RETURNING id, username, home_region, created_at
