--[[ progress: store a running job's progress, if the caller still holds its lease.
  KEYS: the queue key list (see include/queue.lua)
  ARGV[1] prefix   ARGV[2] id   ARGV[3] token   ARGV[4] progress (JSON)
  Returns 1 when stored, 0 when the lease is lost.
]]
--@include queue
local key = jobKey(ARGV[2])
if redis.call('HGET', key, 'token') ~= ARGV[3] then return 0 end
redis.call('HSET', key, 'progress', ARGV[4])
return 1
