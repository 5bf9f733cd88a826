-- set-if-newer-1: stores a versioned cache entry unless the stored one is as
-- new or newer, so writers racing (a fill from the database, a write-through,
-- a late or repeated sync job) can only move an entry forward.
-- KEYS[1]  the entry: a hash with v (version) and d (data)
-- ARGV[1]  version of the new data (integer; higher is newer)
-- ARGV[2]  data
-- ARGV[3]  time to live in ms (> 0), no longer than what the data describes
-- Returns: 1 when stored, 0 when the stored version was the same or higher.
local current = tonumber(redis.call('HGET', KEYS[1], 'v'))
if current and current >= tonumber(ARGV[1]) then
  return 0
end
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'd', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
