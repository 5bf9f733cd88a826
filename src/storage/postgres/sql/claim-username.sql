-- claim-username: reserves a username for a user, at the directory region.
-- Claiming again for the same user id changes nothing. With $5 set, a claim
-- held by user $5 of the same home region is handed over to $2 (a region
-- taking back an orphan its own failed registration left behind). The
-- conflict branch always updates, so that the row of the current holder is
-- returned even when another transaction inserted it a moment ago.
-- Inputs: $1 username_normalized, $2 user_id, $3 home_region, $4 now,
--         $5 user id the claim may be taken over from, or NULL.
-- Returns: one row: the holder after the statement (user_id, home_region).
INSERT INTO username_claims AS c (username_normalized, user_id, home_region, claimed_at)
VALUES ($1, $2, $3, $4)
ON CONFLICT (username_normalized) DO UPDATE
SET user_id    = CASE WHEN c.user_id = $5 AND c.home_region = EXCLUDED.home_region THEN EXCLUDED.user_id ELSE c.user_id END,
    claimed_at = CASE WHEN c.user_id = $5 AND c.home_region = EXCLUDED.home_region THEN EXCLUDED.claimed_at ELSE c.claimed_at END
RETURNING user_id, home_region
