-- 002_outbox: the transactional outbox. Every statement that changes a token
-- family (create, rotate, revoke) also inserts a row here, in the same
-- statement, so the change and its event commit or vanish together. The relay
-- moves unsent rows to the job queue and marks them sent; cleanup deletes
-- sent rows. Events name what changed; consumers re-read the current state,
-- so a late or repeated event can never bring back an older one.

CREATE TABLE outbox (
  id           bigserial PRIMARY KEY,
  kind         text NOT NULL,                -- created, rotated, revoked
  session_id   text NOT NULL,                -- no foreign key: cleanup may delete the session first
  generation   integer NOT NULL,             -- the family's generation after the change
  token_hashes text[] NOT NULL DEFAULT '{}', -- refresh tokens whose state changed
  created_at   timestamptz NOT NULL,
  sent_at      timestamptz
);
-- The relay scans unsent rows in order; cleanup scans sent ones.
CREATE INDEX outbox_unsent_idx ON outbox (id) WHERE sent_at IS NULL;
CREATE INDEX outbox_sent_idx ON outbox (id) WHERE sent_at IS NOT NULL;
