-- 012_replication: what a region sends to other regions and what it has
-- received from them (docs/multi-region.md, "Replication").
--
-- The relay copies each committed outbox row into replication_queue once per
-- target region, in its claiming transaction; a sender per target region
-- delivers the rows in id order and deletes them once the target has applied
-- them. A target that is down keeps its rows here until it answers again.
-- Outbox rows may now also name a user (kind user_created), so session_id may
-- be null.
ALTER TABLE outbox ALTER COLUMN session_id DROP NOT NULL;
ALTER TABLE outbox ALTER COLUMN generation SET DEFAULT 0;
ALTER TABLE outbox ADD COLUMN user_id text;

CREATE TABLE replication_queue (
  id           bigserial PRIMARY KEY,
  target       text NOT NULL,                -- the region to deliver to
  kind         text NOT NULL,                -- as outbox.kind
  session_id   text,
  user_id      text,
  token_hashes text[] NOT NULL DEFAULT '{}',
  created_at   timestamptz NOT NULL          -- when the change was made (replication lag starts here)
);
CREATE INDEX replication_queue_target_idx ON replication_queue (target, id);

-- Revocations made in other regions, kept whether or not this region holds
-- the session: starting processes and the database poll load revocations
-- from here too, so another region's logout is enforced here even for a
-- session this region never saw. received_at is this region's clock: a poll
-- that asks "what is new since t" must see a revocation that arrived late.
CREATE TABLE replicated_revocations (
  session_id  text PRIMARY KEY,
  user_id     text NOT NULL,
  revoked_at  timestamptz NOT NULL,
  received_at timestamptz NOT NULL
);
CREATE INDEX replicated_revocations_received_at_idx ON replicated_revocations (received_at);
