-- clear-slot-rows: deletes every row of one slot on this shard: before a copy arrives (what an
-- interrupted earlier move left), and behind a move once every process routes the slot elsewhere.
-- Run with meridian.moving = on (the slot is guarded on a shard it left).
-- Inputs: $1 integer slot.
-- Returns: nothing.
WITH
  tokens AS (DELETE FROM refresh_tokens WHERE meridian_slot(session_id) = $1),
  sessions AS (DELETE FROM sessions WHERE meridian_slot(id) = $1),
  revocations AS (DELETE FROM replicated_revocations WHERE meridian_slot(session_id) = $1),
  deletions AS (DELETE FROM deleted_users WHERE meridian_slot(id) = $1)
DELETE FROM users WHERE meridian_slot(id) = $1;
