-- 013_drop_token_user_index: no statement looks refresh tokens up by user
-- (a user's sessions are found through sessions.user_id, and their tokens
-- through the session), yet every rotation inserted into this index.
DROP INDEX IF EXISTS refresh_tokens_user_id_idx;
