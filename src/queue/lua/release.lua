--[[ release: give leased jobs back to the front of their pending list without a failure
  (shutdown before the job started, or a shared resource asked everyone to wait).
  KEYS: the queue key list (see include/queue.lua)
  ARGV[1] prefix   ARGV[2] now (ms)
  then groups of 3: id, token, refund ('1' = the lease does not count as an attempt)
  Returns the ids whose lease was lost (nothing changed for them); a release this same lease
  already wrote (the call sent again after a lost reply) is not lost.
]]
--@include queue
local lost, released = {}, {}
-- Walk backwards so that pushing each to the front keeps the original order.
for i = #ARGV - 2, 3, -3 do
  local id, token, refund = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local key = jobKey(id)
  local f = redis.call('HMGET', key, 'token', 'attempts', 'priority', 'ended')
  if f[1] ~= token then
    if endedAs(f[4], token) ~= 'released' then lost[#lost + 1] = id end
  else
    local attempts = tonumber(f[2]) or 1
    if refund == '1' and attempts > 0 then attempts = attempts - 1 end
    redis.call('HSET', key, 'state', 'pending', 'runAt', tonumber(ARGV[2]), 'attempts', attempts, 'token', '0', 'ended', token .. ':released')
    redis.call('LPUSH', pendingKey(f[3]), id)
    released[#released + 1] = id
  end
end
if #released > 0 then
  variadic('ZREM', K_ACTIVE, released)
  wake()
end
return lost
