-- pace_take.lua: take the best waiting calls for release (spec 4.3),
-- spending the budget of the minute in the same step, so daemons sharing
-- this Redis never exceed it together.
-- KEYS: 1 queue, 2 taken, 3 by due, 4 budget (hash: minute, used).
-- ARGV: now, limit (0: none), max, lease end, ttl.
-- Returns {used in now's minute, member...}. Calls whose lease ended
-- (their taker died) go back to the queue first; their budget stays spent.
local now, limit, max = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local lease_end, ttl = tonumber(ARGV[4]), tonumber(ARGV[5])
for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)) do
  redis.call('ZREM', KEYS[2], m)
  redis.call('ZADD', KEYS[1], 0, m)
end
local minute = now - now % 60
if tonumber(redis.call('HGET', KEYS[4], 'minute') or -1) ~= minute then
  redis.call('HSET', KEYS[4], 'minute', minute, 'used', 0)
end
local used = tonumber(redis.call('HGET', KEYS[4], 'used'))
local n = max
if limit > 0 and limit - used < n then n = limit - used end
local out = {used}
if n > 0 then
  for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, n - 1)) do
    redis.call('ZREM', KEYS[1], m)
    redis.call('ZADD', KEYS[2], lease_end, m)
    out[#out + 1] = m
  end
  used = used + #out - 1
  out[1] = used
  redis.call('HSET', KEYS[4], 'used', used)
end
for k = 1, 4 do redis.call('EXPIRE', KEYS[k], ttl) end
return out
