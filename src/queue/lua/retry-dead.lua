--[[ retry-dead: move dead jobs back to pending with a fresh set of attempts.
  KEYS: the queue key list (see include/queue.lua)
  ARGV[1] prefix   ARGV[2] now (ms)   ARGV[3] mode: 'one' or 'batch'   ARGV[4] id (one) or limit (batch)
  Returns { moved, seen }: jobs moved, and dead-set entries taken (an entry whose job hash is gone
  is dropped, not moved); mode 'one' returns { 0, 0 } when the id is not in the dead set.
  The error history is kept so the next failure still shows the earlier ones.
]]
--@include queue
local ids
if ARGV[3] == 'one' then
  if not redis.call('ZSCORE', K_DEAD, ARGV[4]) then return { 0, 0 } end
  ids = { ARGV[4] }
else
  ids = redis.call('ZRANGE', K_DEAD, 0, tonumber(ARGV[4]) - 1)
end
if #ids == 0 then return { 0, 0 } end

local moved = 0
for _, id in ipairs(ids) do
  local key = jobKey(id)
  local priority = redis.call('HGET', key, 'priority')
  if priority then
    redis.call('HSET', key, 'state', 'pending', 'runAt', tonumber(ARGV[2]), 'attempts', 0, 'leaseExpiries', 0, 'token', '0', 'finishedAt', '')
    redis.call('RPUSH', pendingKey(priority), id)
    moved = moved + 1
  end
end
variadic('ZREM', K_DEAD, ids)
if moved > 0 then wake() end
return { moved, #ids }
