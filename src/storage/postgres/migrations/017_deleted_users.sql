-- 017_deleted_users: what a topology needs to delete accounts. A region that
-- held a replica of a deleted user keeps a tombstone of its id (the user id
-- is never used again), so that a late or repeated replicated record of the
-- user cannot bring the replica back. The directory releases a deleted
-- user's name by user id.
CREATE TABLE deleted_users (
  id          text PRIMARY KEY,
  deleted_at  timestamptz NOT NULL
);
CREATE INDEX username_claims_user_id_idx ON username_claims (user_id);
