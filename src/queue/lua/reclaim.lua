--[[ reclaim: take back leases whose deadline passed (their holder died or stalled).
  KEYS: the queue key list (see include/queue.lua)
  ARGV[1] prefix   ARGV[2] now (ms)   ARGV[3] most jobs per call   ARGV[4] events stream max length
  Returns { requeued ids, dead ids }.
  The expired lease already counted an attempt; a job past its last attempt goes to dead with
  "lease expired N times", so a job that kills its supervisor every time cannot loop forever.
  Requeued jobs go to the front of their pending list: they were first in line already.
]]
--@include queue
local now, limit, eventsMaxLen = tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
local expired = redis.call('ZRANGEBYSCORE', K_ACTIVE, '-inf', now, 'LIMIT', 0, limit)
local requeued, dead = {}, {}
local deadSet = finishedSet(K_DEAD)

for _, id in ipairs(expired) do
  local key = jobKey(id)
  local f = redis.call('HMGET', key, 'attempts', 'maxAttempts', 'priority', 'leaseExpiries', 'errors',
    'dedupeKey', 'keepDeadAge', 'keepDeadCount', 'owner')
  if f[3] then
    local expiries = (tonumber(f[4]) or 0) + 1
    local attempts, maxAttempts = tonumber(f[1]) or 1, tonumber(f[2]) or 1
    local message = 'lease expired ' .. expiries .. (expiries == 1 and ' time' or ' times') ..
      ' (last holder ' .. (f[9] or '?') .. ' stopped renewing: killed, crashed or stalled)'
    local err = cjson.encode({ name = 'LeaseExpiredError', code = 'LEASE_EXPIRED', message = message, at = now })
    local history = appendError(f[5], err)
    if attempts >= maxAttempts then
      redis.call('HSET', key, 'state', 'dead', 'finishedAt', now, 'error', err, 'errors', history,
        'token', '0', 'leaseExpiries', expiries)
      releaseDedupe(f[6], id)
      dead[#dead + 1] = id
      addFinished(deadSet, id, now, f[7], f[8])
    else
      redis.call('HSET', key, 'state', 'pending', 'runAt', now, 'error', err, 'errors', history, 'token', '0',
        'leaseExpiries', expiries)
      redis.call('LPUSH', pendingKey(f[3]), id)
      requeued[#requeued + 1] = id
    end
  end
end

if #expired > 0 then variadic('ZREM', K_ACTIVE, expired) end
flushFinished(deadSet, now)
if #requeued > 0 then wake() end
publish('dead', dead, eventsMaxLen)
return { requeued, dead }
