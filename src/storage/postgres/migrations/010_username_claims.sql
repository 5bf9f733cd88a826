-- 010_username_claims: the username directory. Only the directory region's
-- table has rows: every region claims a name here before it registers a user
-- under it, so a name is unique across all regions; the primary key decides
-- concurrent claims from two regions.
CREATE TABLE username_claims (
  username_normalized text PRIMARY KEY,     -- NFKC + lower case, as users.username_normalized
  user_id             text NOT NULL,        -- the user the name is reserved for
  home_region         text NOT NULL,        -- where that user lives: logins elsewhere are sent there
  claimed_at          timestamptz NOT NULL
);
