-- confirm.lua: forget outbox messages the broker acknowledged.
-- KEYS: 1 outbox order (zset), 2 outbox messages (hash); ARGV: ids.
for i = 1, #ARGV do
  redis.call('ZREM', KEYS[1], ARGV[i])
  redis.call('HDEL', KEYS[2], ARGV[i])
end
return #ARGV
