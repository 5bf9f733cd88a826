-- retire-signing-keys: the region's keys stop signing once the new one activates.
-- Inputs: $1 region, $2 retire at (the new key's activates_at), $3 new kid.
-- Returns: nothing.
UPDATE signing_keys SET retired_at = $2
WHERE region = $1 AND retired_at IS NULL AND kid <> $3
