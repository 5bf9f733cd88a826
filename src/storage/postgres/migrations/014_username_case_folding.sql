-- 014_username_case_folding: usernames are now compared after NFKC, full
-- Unicode case folding and NFKC again (src/auth/usernames.ts), where they were
-- compared after NFKC and lower-casing. This recomputes every stored key,
-- users.username_normalized and the directory's
-- username_claims.username_normalized, with the new rule.
--
-- Names that were distinct and now collide (`abcσ` and `ABCΣ`, whose old keys
-- were `abcσ` and `abcς`; `straße` and `strasse`): the oldest account keeps
-- the name (users by created_at, claims by claimed_at, then by user id). Each
-- later account keeps its account, password and sessions, but gets the key
-- `<new key>#<user id>`, which no username normalizes to ('#' is not allowed
-- in usernames): it can no longer log in by name, and the name it wanted is
-- refused to new registrations, until an operator gives it another name.
-- Every such account is listed in username_collisions (and logged as a
-- warning when the migration runs), so that the operator can tell its owner.
--
-- The new keys are computed in JavaScript (SQL has no full case folding)
-- before this file runs, into the temporary tables new_user_keys (id, key)
-- and new_claim_keys (old_key, key); see 014_username_case_folding.ts.

CREATE TABLE username_collisions (
  source     text NOT NULL,               -- 'users' or 'username_claims'
  user_id    text NOT NULL,               -- the account that lost the name
  username   text,                        -- as registered (users only: claims keep no display name)
  wanted_key text NOT NULL,               -- its key under the new rule
  kept_by    text NOT NULL,               -- user id of the account that keeps the name
  PRIMARY KEY (source, user_id)
);

CREATE TEMP TABLE ranked_user_keys ON COMMIT DROP AS
SELECT k.id, k.key, first_value(k.id) OVER w AS kept_by,
       CASE WHEN row_number() OVER w = 1 THEN k.key ELSE k.key || '#' || k.id END AS final_key
FROM new_user_keys k JOIN users u ON u.id = k.id
WINDOW w AS (PARTITION BY k.key ORDER BY u.created_at, u.id);

CREATE TEMP TABLE ranked_claim_keys ON COMMIT DROP AS
SELECT k.old_key, k.key, c.user_id, first_value(c.user_id) OVER w AS kept_by,
       CASE WHEN row_number() OVER w = 1 THEN k.key ELSE k.key || '#' || c.user_id END AS final_key
FROM new_claim_keys k JOIN username_claims c ON c.username_normalized = k.old_key
WINDOW w AS (PARTITION BY k.key ORDER BY c.claimed_at, c.user_id);

INSERT INTO username_collisions (source, user_id, username, wanted_key, kept_by)
SELECT 'users', r.id, u.username, r.key, r.kept_by
FROM ranked_user_keys r JOIN users u ON u.id = r.id
WHERE r.final_key <> r.key;

INSERT INTO username_collisions (source, user_id, wanted_key, kept_by)
SELECT 'username_claims', r.user_id, r.key, r.kept_by
FROM ranked_claim_keys r
WHERE r.final_key <> r.key;

-- Two passes, because a unique index is checked row by row within a
-- statement: a key may still be held by a row not yet updated. The rows that
-- change first move to a placeholder that nothing else can hold.
UPDATE users u SET username_normalized = '#' || u.id
FROM ranked_user_keys r
WHERE r.id = u.id AND u.username_normalized <> r.final_key;

UPDATE users u SET username_normalized = r.final_key
FROM ranked_user_keys r
WHERE r.id = u.id AND u.username_normalized = '#' || u.id;

UPDATE username_claims c SET username_normalized = '#' || c.username_normalized
FROM ranked_claim_keys r
WHERE r.old_key = c.username_normalized AND c.username_normalized <> r.final_key;

UPDATE username_claims c SET username_normalized = r.final_key
FROM ranked_claim_keys r
WHERE c.username_normalized = '#' || r.old_key;
