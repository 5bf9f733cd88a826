-- slot-guarded: whether this shard refuses writes to a slot (it is being moved, or has gone).
-- Asked when a routed call found nothing: the row may be on the shard the slot moved to.
-- Inputs: $1 integer slot.
-- Returns: one row: guarded boolean.
SELECT EXISTS (SELECT 1 FROM slot_guard WHERE slot = $1) AS guarded;
