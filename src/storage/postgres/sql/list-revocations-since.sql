-- list-revocations-since: sessions revoked recently enough that access tokens
-- issued for them may still be unexpired (seeds the in-memory revocation set).
-- Inputs: $1 since (timestamptz).
-- Returns: rows (id, revoked_at).
SELECT id, revoked_at FROM sessions WHERE revoked_at > $1
