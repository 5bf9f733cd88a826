-- 011_foreign_signing_keys: other regions' public keys are kept beside this
-- region's own, so that its JWKS lists every region's keys and a restarted
-- region still verifies tokens of a region that is down. A key of another
-- region has no private part here.
ALTER TABLE signing_keys ALTER COLUMN private_jwk_enc DROP NOT NULL;
