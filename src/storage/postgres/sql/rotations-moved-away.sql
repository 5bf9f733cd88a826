-- rotations-moved-away: of the sessions a write-behind flush found nothing
-- to move forward for, those this shard no longer holds because their slot
-- has moved to another shard (a flush by a process whose slot map was stale):
-- their rotations must go to the new shard, not be taken as written.
-- Inputs: $1 session ids (text[]).
-- Returns: one row (id) per session absent here whose slot this shard guards.
SELECT x.id
FROM unnest($1::text[]) AS x (id)
WHERE NOT EXISTS (SELECT 1 FROM sessions s WHERE s.id = x.id)
  AND EXISTS (SELECT 1 FROM slot_guard g WHERE g.slot = meridian_slot(x.id));
