-- give-back-window-1: returns one unit taken from a fixed-window counter
-- (increment-window-1 with a limit), but only to the window it was taken
-- from: a window that ended or was reset since owes nothing, and taking from
-- a newer one would hand out a unit nobody gave back. A window is known by
-- its end, so one reset and started again within the same millisecond reads
-- as the same window (one unit at most, and only then).
-- KEYS[1]  the counter: a hash with c (count) and r (window end, epoch ms)
-- ARGV[1]  the end (epoch ms) of the window the unit was taken from
-- Returns: 1 if given back, else 0.
local ends = redis.call('HGET', KEYS[1], 'r')
if not ends or tonumber(ends) ~= tonumber(ARGV[1]) then return 0 end
if (tonumber(redis.call('HGET', KEYS[1], 'c')) or 0) < 1 then return 0 end
redis.call('HINCRBY', KEYS[1], 'c', -1)
return 1
