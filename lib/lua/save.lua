-- save.lua: write one user's state, its due index entry and its outbox
-- messages, atomically, if nobody wrote the state since it was read.
-- KEYS: 1 user hash, 2 due index (zset), 3 outbox order (zset),
--       4 outbox messages (hash), 5 outbox id counter
-- ARGV: 1 version read (0 = absent), 2 state blob ('' = delete),
--       3 ttl seconds, 4 user id, 5 next due score ('' = none),
--       6.. outbox messages
-- Returns the new version, or -1 when the version read is stale.
local v = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
if v ~= tonumber(ARGV[1]) then
  return -1
end
if ARGV[2] == '' then
  redis.call('DEL', KEYS[1])
else
  redis.call('HSET', KEYS[1], 'v', v + 1, 's', ARGV[2])
  redis.call('EXPIRE', KEYS[1], ARGV[3])
end
if ARGV[5] == '' then
  redis.call('ZREM', KEYS[2], ARGV[4])
else
  redis.call('ZADD', KEYS[2], ARGV[5], ARGV[4])
end
for i = 6, #ARGV do
  local id = string.format('%020d', redis.call('INCR', KEYS[5]))
  redis.call('HSET', KEYS[4], id, ARGV[i])
  redis.call('ZADD', KEYS[3], 0, id)
end
return v + 1
