-- 018_session_generations: a refresh token is now `<session>.<generation>.<mac>`
-- (src/auth/refresh-tokens.ts), so the session row is the only state a token
-- has and a rotation is one UPDATE of it: generation n -> n+1, last_used_at
-- (when the live generation was minted, which the idle expiry counts from) to
-- now. Neither column is indexed, so with free room on the page the update is
-- HOT: no index entry is written and the table does not grow per rotation.
-- refresh_tokens is kept read-only for the tokens issued before this release:
-- each maps to its (session, generation) one last time and its successor is
-- of the new format; cleanup deletes the rows as they expire.
ALTER TABLE sessions SET (fillfactor = 80);
