-- guarded-rotations: of the sessions of a write-behind flush, those whose
-- slot this shard guards: being moved away (its writes refused with MR001)
-- or moved (the rows gone, or a stale copy about to be deleted behind). A
-- process whose slot map was stale sent them here; their rotations are
-- owed to the slot's new shard, or wait out the freeze, and must not be
-- taken as written here.
-- Inputs: $1 session ids (text[]).
-- Returns: one row (id) per session of a guarded slot.
SELECT x.id
FROM unnest($1::text[]) AS x (id)
WHERE EXISTS (SELECT 1 FROM slot_guard g WHERE g.slot = meridian_slot(x.id));
