-- list-signing-keys: every key that may have signed a live token, or will sign.
-- Inputs: $1 oldest retirement still listed (now - longest token lifetime).
-- Returns: rows (kid, region, alg, public_jwk, private_jwk_enc, activates_at, retired_at), newest first.
SELECT kid, region, alg, public_jwk, private_jwk_enc, activates_at, retired_at
FROM signing_keys
WHERE retired_at IS NULL OR retired_at > $1
ORDER BY activates_at DESC, kid
