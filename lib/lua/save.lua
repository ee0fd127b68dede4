-- save.lua: write the states of users of one bucket, each with its due
-- index entry and its outbox messages, each only if nobody wrote that
-- user's state since it was read. One call per bucket and batch: the
-- call's own cost (about half of it for one user) is paid once, and
-- every key is in the bucket's hash slot.
-- KEYS: 1 due index (zset), 2 outbox order (zset), 3 outbox messages
--       (hash), 4 outbox id counter, 5.. one user hash per user
-- ARGV: for each user, in the order of KEYS 5..: version read (0 =
--       absent), state blob ('' = delete), ttl seconds, user id, next
--       due score ('' = none), number of outbox messages, the messages
-- Returns, per user, the new version, or -1 when the version read is
-- stale (that user is left as it was).
local result, a = {}, 1
for k = 5, #KEYS do
  local key, nmsg = KEYS[k], tonumber(ARGV[a + 5])
  local first = a + 6
  local v = tonumber(redis.call('HGET', key, 'v') or '0')
  if v ~= tonumber(ARGV[a]) then
    result[#result + 1] = -1
  else
    if ARGV[a + 1] == '' then
      redis.call('DEL', key)
    else
      redis.call('HSET', key, 'v', v + 1, 's', ARGV[a + 1])
      redis.call('EXPIRE', key, ARGV[a + 2])
    end
    if ARGV[a + 4] == '' then
      redis.call('ZREM', KEYS[1], ARGV[a + 3])
    else
      redis.call('ZADD', KEYS[1], ARGV[a + 4], ARGV[a + 3])
    end
    for i = first, first + nmsg - 1 do
      local id = string.format('%020d', redis.call('INCR', KEYS[4]))
      redis.call('HSET', KEYS[3], id, ARGV[i])
      redis.call('ZADD', KEYS[2], 0, id)
    end
    result[#result + 1] = v + 1
  end
  a = first + nmsg
end
return result
