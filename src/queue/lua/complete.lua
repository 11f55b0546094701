--[[ complete: record results for a batch of leased jobs.
  KEYS: the queue key list (see include/queue.lua)
  ARGV[1] prefix   ARGV[2] now (ms)   ARGV[3] events stream max length
  then groups of 4: id, token, result, resultType ('json' | 'bytes')
  Returns the ids whose lease was lost: their result was discarded and nothing changed for them.
  A completion this same lease already wrote (the call sent again after a lost reply) is not lost.
  (With keepCompletedCount 0 the job is gone at once, so a repeat of that call reports it lost.)
  The job's dedupe entry (if any) caches the result for resultTtlMs, or is released.
  Retention (keepCompletedAge / keepCompletedCount, -1 = keep) is applied once per batch.
]]
--@include queue
local now, eventsMaxLen = tonumber(ARGV[2]), ARGV[3]
local lost, done = {}, {}
local completed = finishedSet(K_COMPLETED)

for i = 4, #ARGV, 4 do
  local id, token, result, resultType = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local key = jobKey(id)
  local f = redis.call('HMGET', key, 'token', 'dedupeKey', 'resultTtlMs', 'keepCompletedAge', 'keepCompletedCount', 'ended')
  if f[1] ~= token then
    if endedAs(f[6], token) ~= 'completed' then lost[#lost + 1] = id end
  else
    done[#done + 1] = id
    if f[2] and f[2] ~= '' then
      local dk = dedupeKey(f[2])
      local ttl = tonumber(f[3]) or 0
      if ttl > 0 then
        redis.call('HSET', dk, 'jobId', id, 'result', result, 'resultType', resultType)
        redis.call('PEXPIRE', dk, ttl)
      else
        releaseDedupe(f[2], id)
      end
    end
    if f[5] ~= '0' then
      redis.call('HSET', key, 'state', 'completed', 'finishedAt', now, 'result', result,
        'resultType', resultType, 'token', '0', 'ended', token .. ':completed')
    end
    addFinished(completed, id, now, f[4], f[5])
  end
end

if #done > 0 then
  variadic('ZREM', K_ACTIVE, done)
  flushFinished(completed, now)
  publish('completed', done, eventsMaxLen)
  -- A success shows the shared resource is back: the next pause starts small again.
  redis.call('HDEL', K_META, 'resourcePauseLevel')
end
return lost
