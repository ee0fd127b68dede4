-- claim.lua: lease up to ARGV[3] outbox messages visible at ARGV[1]
-- (score <= now) until ARGV[2]; an unconfirmed lease makes them visible
-- again when it runs out, so a crash between claim and produce loses
-- nothing. Messages come in id order (ids are zero-padded).
-- KEYS: 1 outbox order (zset), 2 outbox messages (hash)
-- Returns {id1, msg1, id2, msg2, ...}.
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1],
                       'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for _, id in ipairs(ids) do
  local msg = redis.call('HGET', KEYS[2], id)
  if msg then
    redis.call('ZADD', KEYS[1], ARGV[2], id)
    out[#out + 1] = id
    out[#out + 1] = msg
  else
    redis.call('ZREM', KEYS[1], id)
  end
end
return out
