-- 016_accounts: what the account endpoints need. A session records the
-- client that logged in (shown in the user's session list; the user agent is
-- cut to a bounded length before it is stored), and the session list of a
-- user reads only its live sessions, newest first.
ALTER TABLE sessions ADD COLUMN user_agent text;
ALTER TABLE sessions ADD COLUMN ip text;
CREATE INDEX sessions_user_live_idx ON sessions (user_id, created_at DESC) WHERE revoked_at IS NULL;
