-- upsert-foreign-signing-key: stores another region's public key, or brings
-- its activation and retirement up to date. This region's own keys (the rows
-- with a private part) are never changed, whatever another region sends.
-- Inputs: $1 kid, $2 region, $3 alg, $4 public_jwk (json), $5 now,
--         $6 activates_at, $7 retired_at (or NULL).
-- Returns: nothing.
INSERT INTO signing_keys AS k (kid, region, alg, public_jwk, private_jwk_enc, created_at, activates_at, retired_at)
VALUES ($1, $2, $3, $4::jsonb, NULL, $5, $6, $7)
ON CONFLICT (kid) DO UPDATE
SET activates_at = EXCLUDED.activates_at, retired_at = EXCLUDED.retired_at
WHERE k.private_jwk_enc IS NULL AND k.region = EXCLUDED.region
