-- increment-window-1: adds one to a fixed-window counter, starting a new
-- window when there is none or the last one has ended. The window end comes
-- from the caller's clock, so every process of the region agrees on it; the
-- key's TTL (the window length) only collects garbage. With a limit, a count
-- that has reached it is left as it is: reading and adding in one script is
-- what keeps callers at once from taking more than the limit between them.
-- KEYS[1]  the counter: a hash with c (count) and r (window end, epoch ms)
-- ARGV[1]  now, epoch ms
-- ARGV[2]  window length, ms
-- ARGV[3]  optional: the limit; none: always add
-- Returns: {count, window end ms, 1 if added else 0} after the call.
local now = tonumber(ARGV[1])
local limit = tonumber(ARGV[3])
local ends = tonumber(redis.call('HGET', KEYS[1], 'r'))
if not ends or ends <= now then
  ends = now + tonumber(ARGV[2])
  if limit and limit < 1 then return {0, ends, 0} end
  redis.call('HSET', KEYS[1], 'c', 1, 'r', ends)
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {1, ends, 1}
end
if limit then
  local count = tonumber(redis.call('HGET', KEYS[1], 'c')) or 0
  if count >= limit then return {count, ends, 0} end
end
return {redis.call('HINCRBY', KEYS[1], 'c', 1), ends, 1}
