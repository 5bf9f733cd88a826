-- guard-slot: refuses writes to a slot on this shard from now on (trigger of migration 023).
-- Inputs: $1 integer slot, $2 text state: 'frozen' (being copied away) or 'moved' (gone).
-- Returns: nothing.
INSERT INTO slot_guard (slot, state) VALUES ($1, $2) ON CONFLICT (slot) DO UPDATE SET state = excluded.state;
