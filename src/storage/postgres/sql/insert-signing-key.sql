-- insert-signing-key: adds a key; retiring the region's current keys is a
-- separate statement in the same transaction.
-- Inputs: $1 kid, $2 region, $3 alg, $4 public_jwk (json), $5 private_jwk_enc,
--         $6 now, $7 activates_at.
-- Returns: nothing.
INSERT INTO signing_keys (kid, region, alg, public_jwk, private_jwk_enc, created_at, activates_at)
VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7)
