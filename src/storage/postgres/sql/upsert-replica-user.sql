-- upsert-replica-user: stores a user record replicated from its home region,
-- so that logins of that user can be decided here. No outbox row: a
-- replicated change is never sent on again. A record already here is
-- replaced only by a newer one (updated_at: a password change, a disable),
-- so a late event never brings back an old password hash; a name held here
-- by another user is left alone (the directory decides names), and so is a
-- user deleted at home (a tombstone in deleted_users): never stored again.
-- Inputs: $1 id, $2 username, $3 username_normalized, $4 password_hash,
--         $5 home_region, $6 disabled, $7 created_at, $8 updated_at,
--         $9 password_changed_at.
-- Returns: one row (id) when the record was new or newer here.
WITH updated AS (
  UPDATE users
  SET password_hash = $4, disabled = $6, updated_at = $8, password_changed_at = $9
  WHERE id = $1 AND updated_at < $8
  RETURNING id
), inserted AS (
  INSERT INTO users (id, username, username_normalized, password_hash, home_region,
                     disabled, created_at, updated_at, password_changed_at)
  SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9
  WHERE NOT EXISTS (SELECT 1 FROM users WHERE id = $1)
    AND NOT EXISTS (SELECT 1 FROM deleted_users WHERE id = $1)
  ON CONFLICT DO NOTHING
  RETURNING id
)
SELECT id FROM updated UNION ALL SELECT id FROM inserted
