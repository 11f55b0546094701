--[[ promote: delayed → pending now, whatever the due time (an operator's "run it now").
  KEYS: the queue key list of src/queue/lua/include/queue.lua: KEYS[1..4] pending lists
  (critical, high, normal, low), KEYS[5] delayed, KEYS[10] wake; the others are unused.
  ARGV[1] prefix   ARGV[2] now (ms)   ARGV[3] mode: 'one' or 'batch'   ARGV[4] id (one) or limit (batch)
  Returns { moved, seen }: jobs moved, and delayed entries taken (an entry whose job hash is gone
  is dropped, not moved); mode 'one' returns { 0, 0 } when the id is not delayed.
  Self-contained (the include lives beside the queue's own scripts); it does what lease.lua does
  to a due job, so a promoted job is the same as one whose time came.
]]
local K_DELAYED, K_WAKE = KEYS[5], KEYS[10]
local PRIORITY_INDEX = { critical = 1, high = 2, normal = 3, low = 4 }
local prefix, now = ARGV[1], tonumber(ARGV[2])
local ids
if ARGV[3] == 'one' then
  if not redis.call('ZSCORE', K_DELAYED, ARGV[4]) then return { 0, 0 } end
  ids = { ARGV[4] }
else
  ids = redis.call('ZRANGE', K_DELAYED, 0, tonumber(ARGV[4]) - 1)
end
if #ids == 0 then return { 0, 0 } end
local moved = 0
for _, id in ipairs(ids) do
  local key = prefix .. 'job:' .. id
  local priority = redis.call('HGET', key, 'priority')
  if priority then
    redis.call('HSET', key, 'state', 'pending', 'runAt', now)
    redis.call('RPUSH', KEYS[PRIORITY_INDEX[priority] or 3], id)
    moved = moved + 1
  end
  redis.call('ZREM', K_DELAYED, id)
end
if moved > 0 and redis.call('LLEN', K_WAKE) == 0 then redis.call('RPUSH', K_WAKE, '1') end
return { moved, #ids }
