--[[ lease: promote due delayed jobs, then hand up to `max` pending jobs to one owner.
  KEYS: the queue key list (see include/queue.lua)
  ARGV[1] prefix   ARGV[2] now (ms)   ARGV[3] owner   ARGV[4] max   ARGV[5] lease ms
  ARGV[6] most delayed jobs to promote in this call
  Returns { status, nextDueAt, jobs... }
    status 1 = ok, 0 = queue paused (nothing leased), 2 = paused for an unavailable resource
    nextDueAt = due time of the earliest delayed job, or -1 when there is none or the batch was
                full (the caller comes straight back); with status 2: when the resource pause ends
    then 3 values per job: id, meta, data. meta is one string of 11 fields joined by NUL bytes:
    token, attempt, processor, dataType, maxAttempts, timeoutMs, enqueuedAt, priority, backoff,
    metadata, runAt (due time; 0 = not delayed). Three reply values instead of thirteen: each
    one costs Redis a reply item and the client a decode, per job. Token and attempt come
    first and from this script, so a stored field holding a NUL (a damaged hash) shows as a
    wrong field count without hiding the lease.
  Highest priority first, FIFO within a priority. Each lease counts an attempt; the token is a
  per-queue counter, so a later lease of the same job always carries a larger token.
  ARGV[7] (optional) call id, KEYS[12] the owner's last-lease key: a call whose reply was lost
  and that arrives again with the same id (resent after a reconnect, or retried by the client)
  gets the jobs of the first run again, with their leases renewed, instead of leasing more and
  stranding the first batch until its leases expire.
]]
--@include queue
local now, owner, max, leaseMs = tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local promoteLimit = tonumber(ARGV[6])
local callId, K_LAST_LEASE = ARGV[7], KEYS[12]
local FIELDS = { 'processor', 'data', 'dataType', 'attempts', 'maxAttempts', 'timeoutMs',
  'enqueuedAt', 'priority', 'backoff', 'metadata', 'runAt' }

local SEP = '\0'
local function emit(out, id, token, attempt, f)
  out[#out + 1] = id
  out[#out + 1] = token .. SEP .. attempt .. SEP .. (f[1] or '') .. SEP .. (f[3] or 'json') .. SEP ..
    (f[5] or '1') .. SEP .. (f[6] or '0') .. SEP .. (f[7] or '0') .. SEP .. (f[8] or 'normal') .. SEP ..
    (f[9] or '') .. SEP .. (f[10] or '') .. SEP .. (f[11] or '0')
  out[#out + 1] = f[2] or ''
end

-- The same call again: hand back what it leased, where this owner still holds it.
if callId and K_LAST_LEASE then
  local last = redis.call('GET', K_LAST_LEASE)
  if last then
    local parts = {}
    for part in string.gmatch(last, '[^ ]+') do parts[#parts + 1] = part end
    if parts[1] == callId then
      local out = { 1, -1 }
      local renewed = {}
      for i = 2, #parts - 1, 2 do
        local id, token = parts[i], parts[i + 1]
        local key = jobKey(id)
        local held = redis.call('HMGET', key, 'token', 'owner', 'state')
        if held[1] == token and held[2] == owner and held[3] == 'active' then
          local f = redis.call('HMGET', key, unpack(FIELDS))
          emit(out, id, token, tonumber(f[4]) or 1, f)
          renewed[#renewed + 1] = now + leaseMs
          renewed[#renewed + 1] = id
        end
      end
      if #renewed > 0 then variadic('ZADD', K_ACTIVE, renewed, 'XX') end
      return out
    end
  end
end

local function nextDueAt()
  local first = redis.call('ZRANGE', K_DELAYED, 0, 0, 'WITHSCORES')
  if first[2] then return tonumber(first[2]) end
  return -1
end

local pause = redis.call('HMGET', K_META, 'paused', 'resourcePausedUntil')
if pause[1] == '1' then return { 0, nextDueAt() } end
local resourcePausedUntil = tonumber(pause[2]) or 0
if resourcePausedUntil > now then return { 2, resourcePausedUntil } end

-- The first write is one Redis refuses when full (maxmemory with noeviction): a script's later
-- writes are let through once it has written, and LPOP alone is never refused, so without this a
-- full Redis would hand out jobs whose outcomes it then cannot store.
redis.call('HSET', K_META, 'lastLeaseAt', now)

-- One look at the earliest delayed job decides whether anything is due (the common answer is no).
local earliest = redis.call('ZRANGE', K_DELAYED, 0, 0, 'WITHSCORES')
local due = {}
if earliest[2] and tonumber(earliest[2]) <= now then
  due = redis.call('ZRANGEBYSCORE', K_DELAYED, '-inf', now, 'LIMIT', 0, promoteLimit)
end
if #due > 0 then
  for _, id in ipairs(due) do
    local priority = redis.call('HGET', jobKey(id), 'priority')
    if priority then
      redis.call('RPUSH', pendingKey(priority), id)
      redis.call('HSET', jobKey(id), 'state', 'pending')
    end
  end
  variadic('ZREM', K_DELAYED, due)
end

local ids = {}
for i = 1, 4 do
  local want = max - #ids
  if want <= 0 then break end
  local popped = redis.call('LPOP', KEYS[i], want)
  if popped then
    for _, id in ipairs(popped) do ids[#ids + 1] = id end
  end
end

local out = { 1, 0 }
if #ids > 0 then
  local firstToken = redis.call('HINCRBY', K_META, 'tokens', #ids) - #ids
  local deadline = now + leaseMs
  local activeArgs = {}
  local record = (callId and K_LAST_LEASE) and { callId } or nil
  for i, id in ipairs(ids) do
    local key = jobKey(id)
    local f = redis.call('HMGET', key, unpack(FIELDS))
    -- A list entry whose hash is gone (cleared mid-flight) has nothing to run. A hash without
    -- its processor is still leased: the supervisor fails it as corrupt rather than leaving it
    -- in no list at all.
    if f[1] or redis.call('EXISTS', key) == 1 then
      local token = tostring(firstToken + i)
      local attempt = (tonumber(f[4]) or 0) + 1
      redis.call('HSET', key, 'state', 'active', 'token', token, 'owner', owner, 'startedAt', now,
        'attempts', attempt)
      activeArgs[#activeArgs + 1] = deadline
      activeArgs[#activeArgs + 1] = id
      emit(out, id, token, attempt, f)
      if record then
        record[#record + 1] = id
        record[#record + 1] = token
      end
    end
  end
  if #activeArgs > 0 then variadic('ZADD', K_ACTIVE, activeArgs) end
  if record and #record > 1 then redis.call('SET', K_LAST_LEASE, table.concat(record, ' '), 'PX', leaseMs) end
end
-- A full batch may have left work behind: pass the wake on so another idle consumer takes it.
-- Its caller goes straight back for more, so it needs no due time; an idle one does.
if #ids == max then
  wake()
  out[2] = -1
elseif #due > 0 then
  out[2] = nextDueAt()
elseif earliest[2] then
  out[2] = tonumber(earliest[2])
else
  out[2] = -1
end
return out
