--[[ pause-for-resource: a processor said a resource every job of this queue needs is unavailable
  (quota exceeded, credentials rejected). The job goes back to the front of pending without
  using an attempt, and the queue is paused for every supervisor until a deadline.
  KEYS: the queue key list (see include/queue.lua)
  ARGV[1] prefix   ARGV[2] now (ms)   ARGV[3] id   ARGV[4] token   ARGV[5] first pause ms
  ARGV[6] longest pause ms   ARGV[7] growth factor   ARGV[8] reason
  Returns { status, pausedUntil, level }: status 1 = released and paused (or already paused),
  0 = lease lost (nothing changed). The same call sent again after a lost reply answers 1 with
  the pause as it stands.
  A signal during a pause only releases its job; one after the pause ended grows the next pause
  (first * factor^level, capped); the first completion afterwards resets the level (complete.lua).
]]
--@include queue
local now, id, token = tonumber(ARGV[2]), ARGV[3], ARGV[4]
local first, longest, factor, reason = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]), ARGV[8]
local key = jobKey(id)
local f = redis.call('HMGET', key, 'token', 'attempts', 'priority', 'ended')
if f[1] ~= token then
  if endedAs(f[4], token) ~= 'paused' then return { 0, 0, 0 } end
  local m = redis.call('HMGET', K_META, 'resourcePausedUntil', 'resourcePauseLevel')
  return { 1, tonumber(m[1]) or 0, tonumber(m[2]) or 0 }
end

local attempts = tonumber(f[2]) or 1
if attempts > 0 then attempts = attempts - 1 end
redis.call('HSET', key, 'state', 'pending', 'runAt', now, 'attempts', attempts, 'token', '0', 'ended', token .. ':paused')
redis.call('LPUSH', pendingKey(f[3]), id)
redis.call('ZREM', K_ACTIVE, id)

local m = redis.call('HMGET', K_META, 'resourcePausedUntil', 'resourcePauseLevel')
local pausedUntil, level = tonumber(m[1]) or 0, tonumber(m[2])
if now >= pausedUntil then
  if level == nil then level = 0 else level = level + 1 end
  local duration = math.min(longest, math.floor(first * factor ^ level))
  pausedUntil = now + duration
  redis.call('HSET', K_META, 'resourcePausedUntil', pausedUntil, 'resourcePauseLevel', level,
    'resourcePauseReason', reason)
end
return { 1, pausedUntil, level or 0 }
