-- 020_sessions_ended: "log out everywhere" as a mark on the user, for the
-- sessions no region that ended them knew of yet. A session started at one
-- region moments before a logout of every session at another (or on the far
-- side of a cut link) is not in the list the ending region revokes. The
-- region that ends a user's sessions therefore also records when it did so
-- (and the one session it kept: a password change keeps the caller's), and
-- announces it to every region (replication kind `sessions_ended`). A region
-- receiving it ends its own sessions of the user started until then, and a
-- session of the user that arrives later from replication, started before
-- the mark, is stored ended.
ALTER TABLE users ADD COLUMN sessions_ended_at timestamptz;
ALTER TABLE users ADD COLUMN sessions_kept text;
