-- 001_init: users, sessions (token families), refresh tokens, signing keys.
-- Every row names the region that owns it, and every token row carries its
-- user id, so a region's data can later be split into shards by user.

CREATE TABLE users (
  id                  text PRIMARY KEY,
  username            text NOT NULL,        -- as registered, for display
  username_normalized text NOT NULL,        -- NFKC + lower case: the unique key
  password_hash       text NOT NULL,        -- argon2id PHC string
  home_region         text NOT NULL,
  disabled            boolean NOT NULL DEFAULT false,
  created_at          timestamptz NOT NULL,
  updated_at          timestamptz NOT NULL,
  password_changed_at timestamptz NOT NULL
);
CREATE UNIQUE INDEX users_username_normalized_key ON users (username_normalized);

-- A session is one refresh-token family: every rotation adds a generation.
CREATE TABLE sessions (
  id             text PRIMARY KEY,
  user_id        text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  region         text NOT NULL,             -- origin region of the family
  generation     integer NOT NULL DEFAULT 0, -- generation of the live token
  created_at     timestamptz NOT NULL,
  expires_at     timestamptz NOT NULL,      -- absolute; rotation never extends it
  last_used_at   timestamptz NOT NULL,
  revoked_at     timestamptz,
  revoked_reason text
);
CREATE INDEX sessions_user_id_idx ON sessions (user_id);
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);
-- Start-up loads recent revocations into the in-memory revocation set.
CREATE INDEX sessions_revoked_at_idx ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;

-- Only the SHA-256 of a refresh token is stored, never the token.
CREATE TABLE refresh_tokens (
  token_hash  text PRIMARY KEY,
  session_id  text NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
  user_id     text NOT NULL,
  region      text NOT NULL,
  generation  integer NOT NULL,
  parent_hash text,
  created_at  timestamptz NOT NULL,
  expires_at  timestamptz NOT NULL,         -- min(session expiry, issue + idle TTL)
  consumed_at timestamptz
);
CREATE UNIQUE INDEX refresh_tokens_session_generation_key ON refresh_tokens (session_id, generation);
CREATE INDEX refresh_tokens_user_id_idx ON refresh_tokens (user_id);
CREATE INDEX refresh_tokens_expires_at_idx ON refresh_tokens (expires_at);

-- Access-token signing keys; private halves are AES-256-GCM encrypted.
CREATE TABLE signing_keys (
  kid             text PRIMARY KEY,
  region          text NOT NULL,
  alg             text NOT NULL,
  public_jwk      jsonb NOT NULL,
  private_jwk_enc text NOT NULL,
  created_at      timestamptz NOT NULL,
  activates_at    timestamptz NOT NULL,     -- published before it signs
  retired_at      timestamptz               -- stops signing; listed until its tokens expire
);
