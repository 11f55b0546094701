--[[ fail: record failures for a batch of leased jobs; retry with back-off or move to dead.
  KEYS: the queue key list (see include/queue.lua)
  ARGV[1] prefix   ARGV[2] now (ms)   ARGV[3] events stream max length
  then groups of 4: id, token, error (JSON object), retry delay ms
    retry delay >= 0: retry after that delay if attempts remain (0 = straight back to pending)
    retry delay  < 0: unrecoverable, straight to dead whatever attempts remain
  Returns { lost ids, dead ids, retried ids } (three lists). A failure this same lease already
  wrote (the call sent again after a lost reply) is reported as it was decided then, not as lost.
  The back-off delay is computed by the caller from the job's policy (it holds the attempt number
  and the policy from the lease reply), so jitter and policies stay testable outside Redis.
]]
--@include queue
local now, eventsMaxLen = tonumber(ARGV[2]), ARGV[3]
local lost, dead, retried, finished = {}, {}, {}, {}
local wasDead, wasRetried = {}, {}
local delayedArgs, toPending = {}, { {}, {}, {}, {} }
local deadSet = finishedSet(K_DEAD)

for i = 4, #ARGV, 4 do
  local id, token, err, delay = ARGV[i], ARGV[i + 1], ARGV[i + 2], tonumber(ARGV[i + 3])
  local key = jobKey(id)
  local f = redis.call('HMGET', key, 'token', 'attempts', 'maxAttempts', 'priority', 'errors',
    'dedupeKey', 'keepDeadAge', 'keepDeadCount', 'ended')
  if f[1] ~= token then
    local already = endedAs(f[9], token)
    if already == 'dead' then wasDead[#wasDead + 1] = id
    elseif already == 'retried' then wasRetried[#wasRetried + 1] = id
    else lost[#lost + 1] = id end
  else
    finished[#finished + 1] = id
    local history = appendError(f[5], err)
    local attempts, maxAttempts = tonumber(f[2]) or 1, tonumber(f[3]) or 1
    if delay < 0 or attempts >= maxAttempts then
      redis.call('HSET', key, 'state', 'dead', 'finishedAt', now, 'error', err, 'errors', history, 'token', '0', 'ended', token .. ':dead')
      releaseDedupe(f[6], id)
      dead[#dead + 1] = id
      addFinished(deadSet, id, now, f[7], f[8])
    elseif delay == 0 then
      redis.call('HSET', key, 'state', 'pending', 'runAt', now, 'error', err, 'errors', history, 'token', '0', 'ended', token .. ':retried')
      local list = toPending[PRIORITY_INDEX[f[4]] or 3]
      list[#list + 1] = id
      retried[#retried + 1] = id
    else
      redis.call('HSET', key, 'state', 'delayed', 'runAt', now + delay, 'error', err, 'errors', history, 'token', '0', 'ended', token .. ':retried')
      delayedArgs[#delayedArgs + 1] = now + delay
      delayedArgs[#delayedArgs + 1] = id
      retried[#retried + 1] = id
    end
  end
end

if #finished > 0 then variadic('ZREM', K_ACTIVE, finished) end
local woke = #delayedArgs > 0
for p = 1, 4 do
  if #toPending[p] > 0 then
    variadic('RPUSH', KEYS[p], toPending[p])
    woke = true
  end
end
if #delayedArgs > 0 then variadic('ZADD', K_DELAYED, delayedArgs) end
flushFinished(deadSet, now)
if woke then wake() end
publish('retrying', retried, eventsMaxLen)
publish('dead', dead, eventsMaxLen)
for _, id in ipairs(wasDead) do dead[#dead + 1] = id end
for _, id in ipairs(wasRetried) do retried[#retried + 1] = id end
return { lost, dead, retried }
