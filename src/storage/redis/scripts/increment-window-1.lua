-- increment-window-1: adds one to a fixed-window counter, starting a new
-- window when there is none or the last one has ended. The window end comes
-- from the caller's clock, so every process of the region agrees on it; the
-- key's TTL (the window length) only collects garbage.
-- KEYS[1]  the counter: a hash with c (count) and r (window end, epoch ms)
-- ARGV[1]  now, epoch ms
-- ARGV[2]  window length, ms
-- Returns: {count, window end ms} after the increment.
local now = tonumber(ARGV[1])
local ends = tonumber(redis.call('HGET', KEYS[1], 'r'))
if not ends or ends <= now then
  ends = now + tonumber(ARGV[2])
  redis.call('HSET', KEYS[1], 'c', 1, 'r', ends)
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {1, ends}
end
return {redis.call('HINCRBY', KEYS[1], 'c', 1), ends}
