-- get-with-ref-1: reads a versioned entry and the entry its data refers to, in
-- one round trip (a refresh token's entry names its family's).
-- KEYS[1]  the entry: a hash with v (version) and d (data, a JSON object)
-- ARGV[1]  the field of d whose string value names the second entry
-- ARGV[2]  the key prefix of the second entry: its key is ARGV[2] .. d[ARGV[1]]
--          (the caller builds the prefix, in keys.ts; the key is not declared,
--          which a single Redis allows and Redis Cluster would not)
-- Returns: {d1, d2}: d1 false when the entry is absent; d2 false when the
--          entry is absent, its data does not parse or has no such string
--          field, or the second entry is absent.
local first = redis.call('HGET', KEYS[1], 'd')
if not first then
  return {false, false}
end
local ok, value = pcall(cjson.decode, first)
if not ok or type(value) ~= 'table' or type(value[ARGV[1]]) ~= 'string' then
  return {first, false}
end
return {first, redis.call('HGET', ARGV[2] .. value[ARGV[1]], 'd')}
