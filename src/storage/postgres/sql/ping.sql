-- ping: is the database answering?
-- Inputs: none. Returns: one row (ok = 1).
SELECT 1 AS ok
