-- forget-flushed-1: removes rotations the worker has written to PostgreSQL
-- from the pending hash, each only if it is still the one flushed: a session
-- rotated again meanwhile stays pending with its newer generation.
-- KEYS[1]        the rotations pending flush (session id -> "generation:rotated at ms")
-- ARGV[2i-1..2i] a session id and the value that was flushed for it
-- Returns: how many were removed.
local removed = 0
for i = 1, #ARGV, 2 do
  if redis.call('HGET', KEYS[1], ARGV[i]) == ARGV[i + 1] then
    redis.call('HDEL', KEYS[1], ARGV[i])
    removed = removed + 1
  end
end
return removed
