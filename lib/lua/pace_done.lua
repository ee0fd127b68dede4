-- pace_done.lua: forget taken calls once released or found stale, and
-- give back the budget of the stale ones if their minute is still on.
-- KEYS: 1 taken, 2 by due, 3 budget. ARGV: minute, refund, members...
local refund = tonumber(ARGV[2])
for i = 3, #ARGV do
  redis.call('ZREM', KEYS[1], ARGV[i])
  redis.call('ZREM', KEYS[2], ARGV[i])
end
if refund > 0 and tonumber(redis.call('HGET', KEYS[3], 'minute') or -1) == tonumber(ARGV[1]) then
  local used = tonumber(redis.call('HGET', KEYS[3], 'used'))
  redis.call('HSET', KEYS[3], 'used', math.max(0, used - refund))
end
return 0
