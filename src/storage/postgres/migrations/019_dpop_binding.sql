-- 019_dpop_binding: the thumbprint (RFC 7638, base64url SHA-256) of the key a
-- session is bound to by DPoP (RFC 9449); null for a session that is not
-- bound. Once set it never changes: every refresh of the session must carry
-- a proof by that key, in every region that holds the family.
ALTER TABLE sessions ADD COLUMN dpop_jkt text;
