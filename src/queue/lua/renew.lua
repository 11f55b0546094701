--[[ renew: extend many leases in one call.
  KEYS: the queue key list (see include/queue.lua)
  ARGV[1] prefix   ARGV[2] now (ms)   ARGV[3] lease ms   ARGV[4] owner
  then pairs: id, token
  Returns the ids whose lease is lost (token no longer current: reclaimed, re-leased or finished).
]]
--@include queue
local deadline = tonumber(ARGV[2]) + tonumber(ARGV[3])
local lost, activeArgs = {}, {}
for i = 5, #ARGV, 2 do
  local id, token = ARGV[i], ARGV[i + 1]
  if redis.call('HGET', jobKey(id), 'token') == token then
    activeArgs[#activeArgs + 1] = deadline
    activeArgs[#activeArgs + 1] = id
  else
    lost[#lost + 1] = id
  end
end
if #activeArgs > 0 then variadic('ZADD', K_ACTIVE, activeArgs, 'XX') end
return lost
