-- list-revocations-since: sessions revoked recently enough that access tokens
-- issued for them may still be unexpired (seeds the in-memory revocation
-- set), including revocations received from other regions since then (by
-- their arrival here, which may be later than the revocation itself).
-- Inputs: $1 since (timestamptz).
-- Returns: rows (id, revoked_at).
SELECT id, revoked_at FROM sessions WHERE revoked_at > $1
UNION
SELECT session_id, revoked_at FROM replicated_revocations WHERE received_at > $1
