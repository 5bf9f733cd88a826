-- release-username-claim: frees the name a deleted user held, at the
-- directory region. Releasing again, or for a user holding no name, changes
-- nothing.
-- Inputs: $1 user_id.
-- Returns: nothing.
DELETE FROM username_claims WHERE user_id = $1
