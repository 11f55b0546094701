--[[ retry-dead: move dead jobs back to pending with a fresh set of attempts.
  KEYS: the queue key list (see include/queue.lua)
  ARGV[1] prefix   ARGV[2] now (ms)   ARGV[3] mode: 'one', 'start' or 'batch'
  ARGV[4] id (one) or limit (start, batch)   ARGV[5] run id (start, batch)
  'start' copies the dead set to prefix..'retry-all:'..run id, and it and each 'batch' after it move
  up to limit jobs taken from that copy. So a retry-all moves the jobs dead when it began, each
  once: a job that runs and dies again while later batches are still going is not in the copy, and
  taking batches from the live set moved it a second time (or for ever, for a job that fails fast).
  An id in the copy that has left the dead set meanwhile (retried, purged) is skipped.
  Returns { moved, seen }: jobs moved, and entries taken (seen 0 = done); mode 'one' returns
  { 0, 0 } when the id is not in the dead set.
  The error history is kept so the next failure still shows the earlier ones.
]]
--@include queue
local SNAPSHOT_TTL_MS = 3600000
local ids
if ARGV[3] == 'one' then
  if not redis.call('ZSCORE', K_DEAD, ARGV[4]) then return { 0, 0 } end
  ids = { ARGV[4] }
else
  local snapshot = PREFIX .. 'retry-all:' .. ARGV[5]
  if ARGV[3] == 'start' then
    if redis.call('ZRANGESTORE', snapshot, K_DEAD, 0, -1) == 0 then return { 0, 0 } end
    -- A retry-all that stops half way (its client killed) leaves the copy for this long only.
    redis.call('PEXPIRE', snapshot, SNAPSHOT_TTL_MS)
  end
  ids = redis.call('ZRANGE', snapshot, 0, tonumber(ARGV[4]) - 1)
  if #ids == 0 then return { 0, 0 } end
  variadic('ZREM', snapshot, ids)
end

local moved = 0
local left = {}
for _, id in ipairs(ids) do
  local key = jobKey(id)
  local priority = redis.call('HGET', key, 'priority')
  local dead = ARGV[3] == 'one' or redis.call('ZSCORE', K_DEAD, id)
  if dead and priority then
    redis.call('HSET', key, 'state', 'pending', 'runAt', tonumber(ARGV[2]), 'attempts', 0, 'leaseExpiries', 0, 'token', '0', 'finishedAt', '')
    redis.call('RPUSH', pendingKey(priority), id)
    moved = moved + 1
  end
  if dead then left[#left + 1] = id end
end
variadic('ZREM', K_DEAD, left)
if moved > 0 then wake() end
return { moved, #ids }
