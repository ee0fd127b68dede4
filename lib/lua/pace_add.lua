-- pace_add.lua: queue paced calls (spec 4.3) that wait for budget.
-- KEYS: 1 queue (zset, score 0, members sort in serving order),
--       2 taken (zset member -> lease end), 3 by due (zset due -> member).
-- ARGV: ttl, then member, due_at pairs. A call already queued or taken
-- stays as it is (a pacing entry delivered twice). Keys expire ttl after
-- the last change: they hold user ids.
local ttl = tonumber(ARGV[1])
for i = 2, #ARGV, 2 do
  local m = ARGV[i]
  if not redis.call('ZSCORE', KEYS[2], m) then
    redis.call('ZADD', KEYS[1], 'NX', 0, m)
    redis.call('ZADD', KEYS[3], 'NX', tonumber(ARGV[i + 1]), m)
  end
end
for k = 1, 3 do redis.call('EXPIRE', KEYS[k], ttl) end
return 0
