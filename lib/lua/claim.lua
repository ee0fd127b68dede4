-- claim.lua: lease up to ARGV[3] outbox messages visible at ARGV[1]
-- until ARGV[2]; an unconfirmed lease makes them visible again when it
-- runs out, so a crash between claim and produce loses nothing.
-- Messages are leased and returned in id order (ids are zero-padded, so
-- string order is write order), and a user's messages leave in the order
-- they were written: one whose user has an earlier message under a live
-- lease (claimed by a daemon that died, or whose broker gave up, before
-- the broker took it) waits until that one is confirmed or comes back,
-- so a cancel never overtakes the call it cancels.
-- Scores: 0 never claimed; else the end of the lease (visible again once
-- it is <= now). Entries are "topic at key\nvalue" (store.c).
-- KEYS: 1 outbox order (zset), 2 outbox messages (hash)
-- Returns {id1, msg1, id2, msg2, ...}.
local now, want = tonumber(ARGV[1]), tonumber(ARGV[3])

local function user_of(msg)
  return string.match(msg, '^%-?%d+ %-?%d+ ([^\n]*)\n') or ''
end

-- every message ever claimed and not confirmed: few (a round or two)
local claimed = redis.call('ZRANGEBYSCORE', KEYS[1], '(0', '+inf',
                           'WITHSCORES')
local first_live, candidates = {}, {}
for i = 1, #claimed, 2 do
  local id, score = claimed[i], tonumber(claimed[i + 1])
  if score > now then
    local msg = redis.call('HGET', KEYS[2], id)
    local user = msg and user_of(msg)
    if user and (first_live[user] == nil or id < first_live[user]) then
      first_live[user] = id
    end
  else
    candidates[#candidates + 1] = id
  end
end
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], 0, 0, 'LIMIT', 0,
                               want + #claimed)) do
  candidates[#candidates + 1] = id
end
table.sort(candidates)

local out = {}
for _, id in ipairs(candidates) do
  if #out >= 2 * want then break end
  local msg = redis.call('HGET', KEYS[2], id)
  if not msg then
    redis.call('ZREM', KEYS[1], id)
  else
    local before = first_live[user_of(msg)]
    if before == nil or id < before then
      redis.call('ZADD', KEYS[1], ARGV[2], id)
      out[#out + 1] = id
      out[#out + 1] = msg
    end
  end
end
return out
