-- upsert-replica-user: stores a user record replicated from its home region,
-- so that logins of that user can be decided here. No outbox row: a
-- replicated change is never sent on again. A record already here is kept
-- (nothing in the service changes a user after registration yet); a name
-- held here by another user is left alone (the directory decides names).
-- Inputs: $1 id, $2 username, $3 username_normalized, $4 password_hash,
--         $5 home_region, $6 disabled, $7 created_at, $8 updated_at,
--         $9 password_changed_at.
-- Returns: one row (id) when the record was new here.
INSERT INTO users (id, username, username_normalized, password_hash, home_region,
                   disabled, created_at, updated_at, password_changed_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT DO NOTHING
RETURNING id
