-- read-slot-rows: every row of one slot on this shard, for a move.
-- Inputs: $1 integer slot.
-- Returns: one row of json arrays: users, sessions, revocations (replicated_revocations),
-- deletions (deleted_users), tokens (refresh_tokens of the slot's sessions: rows of a release before
-- one row per session).
SELECT
  (SELECT coalesce(json_agg(u), '[]') FROM users u WHERE meridian_slot(u.id) = $1) AS users,
  (SELECT coalesce(json_agg(s), '[]') FROM sessions s WHERE meridian_slot(s.id) = $1) AS sessions,
  (SELECT coalesce(json_agg(r), '[]') FROM replicated_revocations r WHERE meridian_slot(r.session_id) = $1) AS revocations,
  (SELECT coalesce(json_agg(d), '[]') FROM deleted_users d WHERE meridian_slot(d.id) = $1) AS deletions,
  (SELECT coalesce(json_agg(t), '[]') FROM refresh_tokens t WHERE meridian_slot(t.session_id) = $1) AS tokens;
