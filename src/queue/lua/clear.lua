--[[ clear: delete up to `limit` jobs in one state (pending, delayed, completed or dead).
  KEYS: the queue key list (see include/queue.lua)
  ARGV[1] prefix   ARGV[2] state   ARGV[3] limit
  Returns the number of jobs deleted; the caller repeats until it returns 0, so one call never
  blocks Redis for long. Active jobs are refused by the caller: their holders still run them.
]]
--@include queue
local state, limit = ARGV[2], tonumber(ARGV[3])
local ids = {}
if state == 'pending' then
  for i = 1, 4 do
    local want = limit - #ids
    if want <= 0 then break end
    local popped = redis.call('LPOP', KEYS[i], want)
    if popped then for _, id in ipairs(popped) do ids[#ids + 1] = id end end
  end
else
  local zset = ({ delayed = K_DELAYED, completed = K_COMPLETED, dead = K_DEAD })[state]
  if not zset then return redis.error_reply('clear: unsupported state ' .. tostring(state)) end
  ids = redis.call('ZRANGE', zset, 0, limit - 1)
  if #ids > 0 then variadic('ZREM', zset, ids) end
end
for _, id in ipairs(ids) do
  releaseDedupe(redis.call('HGET', jobKey(id), 'dedupeKey'), id)
end
if #ids > 0 then deleteJobs(ids) end
return #ids
