-- Shared by every transition. Each script is called with the same fixed key list, so the
-- loader needs no per-script table and cluster routing sees all of them in one slot:
--   KEYS[1..4] pending lists: critical, high, normal, low
--   KEYS[5] delayed (zset, due time)   KEYS[6] active (zset, lease deadline)
--   KEYS[7] completed (zset, finish)   KEYS[8] dead (zset, finish)
--   KEYS[9] meta (hash: paused, token counter)   KEYS[10] wake (list)   KEYS[11] events (stream)
-- ARGV[1] is always the key prefix "troupe:{queue}:" so job and dedupe keys stay in the slot.
local K_DELAYED, K_ACTIVE, K_COMPLETED, K_DEAD = KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local K_META, K_WAKE, K_EVENTS = KEYS[9], KEYS[10], KEYS[11]
local PREFIX = ARGV[1]
local PRIORITY_INDEX = { critical = 1, high = 2, normal = 3, low = 4 }
local MAX_ERROR_HISTORY = 10

local function jobKey(id) return PREFIX .. 'job:' .. id end

-- Writing an outcome for a lease also records `ended` = token:kind. When the reply to that write
-- is lost and the same call arrives again (the client resent it after reconnecting), the token
-- no longer matches, and this tells "already written by this very lease" from "lease lost".
local function endedAs(ended, token)
  if ended and #ended > #token and ended:sub(1, #token + 1) == token .. ':' then return ended:sub(#token + 2) end
  return nil
end
local function dedupeKey(key) return PREFIX .. 'dedupe:' .. key end
local function pendingKey(priority) return KEYS[PRIORITY_INDEX[priority] or 3] end

-- One token in the wake list is enough to rouse a blocked consumer; more would only pile up.
local function wake()
  if redis.call('LLEN', K_WAKE) == 0 then redis.call('RPUSH', K_WAKE, '1') end
end

-- Batched events keep the stream at one entry per transition call, not one per job.
local function publish(kind, ids, maxLen)
  if #ids == 0 then return end
  redis.call('XADD', K_EVENTS, 'MAXLEN', '~', maxLen, '*', 'type', kind, 'ids', table.concat(ids, ' '))
end

-- Unpack is limited by the Lua C stack, so variadic calls go in chunks.
local CHUNK = 4000
local function variadic(cmd, key, args, flag)
  for i = 1, #args, CHUNK do
    local last = math.min(i + CHUNK - 1, #args)
    if flag then
      redis.call(cmd, key, flag, unpack(args, i, last))
    else
      redis.call(cmd, key, unpack(args, i, last))
    end
  end
end

local function deleteJobs(ids)
  for i = 1, #ids, CHUNK do
    local keys = {}
    for j = i, math.min(i + CHUNK - 1, #ids) do keys[#keys + 1] = jobKey(ids[j]) end
    redis.call('DEL', unpack(keys))
  end
end

local function appendError(historyJson, errorJson)
  local history = {}
  if historyJson and historyJson ~= '' then history = cjson.decode(historyJson) end
  table.insert(history, cjson.decode(errorJson))
  while #history > MAX_ERROR_HISTORY do table.remove(history, 1) end
  return cjson.encode(history)
end

-- A dedupe entry belongs to the job that created it; only that job may release it.
local function releaseDedupe(key, id)
  if key and key ~= '' then
    local dk = dedupeKey(key)
    if redis.call('HGET', dk, 'jobId') == id and redis.call('HEXISTS', dk, 'result') == 0 then
      redis.call('DEL', dk)
    end
  end
end

-- Retention: drop finished jobs older than ageMs and beyond the newest `count` (-1 = no limit).
-- Bounded per call so one transition never stalls Redis; later calls finish the work.
local TRIM_LIMIT = 1000
local function trimFinished(zset, now, ageMs, count)
  if ageMs >= 0 then
    local old = redis.call('ZRANGEBYSCORE', zset, '-inf', now - ageMs, 'LIMIT', 0, TRIM_LIMIT)
    if #old > 0 then
      deleteJobs(old)
      variadic('ZREM', zset, old)
    end
  end
  if count >= 0 then
    local excess = redis.call('ZCARD', zset) - count
    if excess > 0 then
      if excess > TRIM_LIMIT then excess = TRIM_LIMIT end
      deleteJobs(redis.call('ZRANGE', zset, 0, excess - 1))
      redis.call('ZREMRANGEBYRANK', zset, 0, excess - 1)
    end
  end
end

-- The tightest retention asked for by any job in the batch wins (-1 means "not set").
local function tighter(current, value)
  local v = tonumber(value)
  if v == nil or v < 0 then return current end
  if current < 0 or v < current then return v end
  return current
end

-- Jobs finishing in one call (completed or dead): a retention count of 0 drops the job at once,
-- the rest join the state's zset, which is trimmed once at the end with the tightest limits.
local function finishedSet(zset)
  return { zset = zset, args = {}, dropped = {}, keepAge = -1, keepCount = -1 }
end

local function addFinished(set, id, now, keepAgeField, keepCountField)
  if keepCountField == '0' then
    set.dropped[#set.dropped + 1] = id
    return
  end
  set.args[#set.args + 1] = now
  set.args[#set.args + 1] = id
  set.keepAge = tighter(set.keepAge, keepAgeField)
  set.keepCount = tighter(set.keepCount, keepCountField)
end

local function flushFinished(set, now)
  if #set.dropped > 0 then deleteJobs(set.dropped) end
  if #set.args > 0 then
    variadic('ZADD', set.zset, set.args)
    trimFinished(set.zset, now, set.keepAge, set.keepCount)
  end
end
