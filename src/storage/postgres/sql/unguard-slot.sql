-- unguard-slot: takes writes to a slot on this shard again (a move here, or one given up).
-- Inputs: $1 integer slot.
-- Returns: nothing.
DELETE FROM slot_guard WHERE slot = $1;
