--[[ cancel: remove a job that has not started (pending or delayed).
  KEYS: the queue key list (see include/queue.lua)
  ARGV[1] prefix   ARGV[2] id
  Returns { code, state }: code 1 = cancelled, 0 = no such job, -1 = not cancellable in `state`.
]]
--@include queue
local id = ARGV[2]
local key = jobKey(id)
local f = redis.call('HMGET', key, 'state', 'priority', 'dedupeKey')
if not f[1] then return { 0, '' } end
if f[1] == 'pending' then
  redis.call('LREM', pendingKey(f[2]), 1, id)
elseif f[1] == 'delayed' then
  redis.call('ZREM', K_DELAYED, id)
else
  return { -1, f[1] }
end
releaseDedupe(f[3], id)
redis.call('DEL', key)
return { 1, f[1] }
