-- allow-slot-writes: lets this transaction's writes through the slot guard (a slot move's own copy
-- and delete; migration 023). Ends with the transaction.
-- Inputs: none.
-- Returns: one row (set_config's value).
SELECT set_config('meridian.moving', 'on', true);
