-- set-if-newer-n: stores versioned cache entries, each unless the stored one
-- is as new or newer, so writers racing (a fill from the database, a
-- write-through, a late or repeated sync job) can only move an entry forward.
-- Several entries in one call: one change (a rotation: the family, the
-- consumed parent and the child) is one command. On a cluster the keys of one
-- call must share a slot; the caller sends entries of different slots apart.
-- KEYS[i]          the entries: hashes with v (version) and d (data)
-- ARGV[3i-2..3i]   for KEYS[i]: version (integer; higher is newer), data,
--                  time to live in ms (> 0, no longer than what the data describes)
-- Returns: for each key in order, 1 when stored, 0 when the stored version
--          was the same or higher.
local stored = {}
for i, key in ipairs(KEYS) do
  local version = tonumber(ARGV[3 * i - 2])
  local current = tonumber(redis.call('HGET', key, 'v'))
  if current and current >= version then
    stored[i] = 0
  else
    redis.call('HSET', key, 'v', ARGV[3 * i - 2], 'd', ARGV[3 * i - 1])
    redis.call('PEXPIRE', key, ARGV[3 * i])
    stored[i] = 1
  end
end
return stored
