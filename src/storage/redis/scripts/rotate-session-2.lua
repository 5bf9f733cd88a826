-- rotate-session-2: a refresh in write-behind mode, as a compare-and-set of
-- the session's cache entry: it moves to the new generation only if it is
-- still live at the generation the decision read, and the rotation is noted
-- for the worker's flush to PostgreSQL in the same step, so no rotation is
-- made without being owed to the database.
-- KEYS[1]  the session entry: a hash with v (version) and d (data), as
--          set-if-newer-n writes it (a live session's version is its
--          generation; a revoked one's is higher than any live one's)
-- KEYS[2]  the rotations pending flush: a hash, session id -> "generation:rotated at ms"
--          (on a cluster, the hash of the entry's bucket: both carry its hash tag)
-- ARGV[1]  the session id
-- ARGV[2]  the version (generation) the decision read
-- ARGV[3]  the new generation (its version)
-- ARGV[4]  the new entry data (JSON)
-- ARGV[5]  time to live of the entry, ms (> 0)
-- ARGV[6]  the rotation time, ms
-- Returns: 1 rotated; 0 the entry moved on or was revoked (decide again);
--          -1 no entry (fill it from PostgreSQL, then try again).
local current = redis.call('HGET', KEYS[1], 'v')
if not current then
  return -1
end
if tonumber(current) ~= tonumber(ARGV[2]) then
  return 0
end
redis.call('HSET', KEYS[1], 'v', ARGV[3], 'd', ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3] .. ':' .. ARGV[6])
return 1
