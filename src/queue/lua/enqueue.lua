--[[ enqueue: add a batch of jobs (one round trip however many).
  KEYS: the queue key list (see include/queue.lua)
  ARGV[1] prefix   ARGV[2] now (ms)   ARGV[3] events stream max length   ARGV[4] job count N
  then N groups: id, priority, runAt (ms; <= now means run now), dedupeKey ('' for none),
                 P (number of hash field/value pairs), P pairs of job hash fields
  Returns a flat list of N triples: id, outcome, state
    outcome 'created'   the job was added (state pending or delayed)
            'exists'    a job with this id already exists: nothing changed (idempotent enqueue)
            'coalesced' a job with the same dedupe key is still in flight: its id is returned
            'cached'    a cached result for the dedupe key exists: the job was added as completed
]]
--@include queue
local now = tonumber(ARGV[2])
local eventsMaxLen = ARGV[3]
local count = tonumber(ARGV[4])
local out, toPending, completedIds = {}, { {}, {}, {}, {} }, {}
local delayedArgs = {}
local pos = 5

for _ = 1, count do
  local id, priority, runAt, dkey, pairCount = ARGV[pos], ARGV[pos + 1], tonumber(ARGV[pos + 2]), ARGV[pos + 3], tonumber(ARGV[pos + 4])
  local fieldsStart, fieldsEnd = pos + 5, pos + 4 + pairCount * 2
  pos = fieldsEnd + 1
  local key = jobKey(id)
  local outcome, resultId, state = 'created', id, nil

  local existing = redis.call('HGET', key, 'state')
  if existing then
    outcome, state = 'exists', existing
  elseif dkey ~= '' then
    local dk = dedupeKey(dkey)
    local d = redis.call('HMGET', dk, 'jobId', 'result', 'resultType')
    if d[2] then
      redis.call('HSET', key, 'state', 'completed', 'startedAt', now, 'finishedAt', now,
        'result', d[2], 'resultType', d[3] or 'json', 'cachedFrom', d[1] or '',
        unpack(ARGV, fieldsStart, fieldsEnd))
      completedIds[#completedIds + 1] = id
      outcome, state = 'cached', 'completed'
    elseif d[1] then
      local inflightState = redis.call('HGET', jobKey(d[1]), 'state')
      if inflightState then
        outcome, resultId, state = 'coalesced', d[1], inflightState
      end
    end
    if outcome == 'created' then redis.call('HSET', dk, 'jobId', id) end
  end

  if outcome == 'created' then
    if runAt > now then
      state = 'delayed'
      delayedArgs[#delayedArgs + 1] = runAt
      delayedArgs[#delayedArgs + 1] = id
    else
      state = 'pending'
      local list = toPending[PRIORITY_INDEX[priority] or 3]
      list[#list + 1] = id
    end
    redis.call('HSET', key, 'state', state, 'runAt', runAt, unpack(ARGV, fieldsStart, fieldsEnd))
  end
  out[#out + 1] = resultId
  out[#out + 1] = outcome
  out[#out + 1] = state
end

local woke = false
for i = 1, 4 do
  if #toPending[i] > 0 then
    variadic('RPUSH', KEYS[i], toPending[i])
    woke = true
  end
end
if #delayedArgs > 0 then variadic('ZADD', K_DELAYED, delayedArgs) end
if #completedIds > 0 then
  local zargs = {}
  for _, id in ipairs(completedIds) do zargs[#zargs + 1] = now; zargs[#zargs + 1] = id end
  variadic('ZADD', K_COMPLETED, zargs)
  publish('completed', completedIds, eventsMaxLen)
end
-- Delayed jobs need a wake too: a blocked consumer re-reads the next due time.
if woke or #delayedArgs > 0 then wake() end
return out
