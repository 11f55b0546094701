--[[ delete: remove one job in any state but active (its holder still runs it).
  KEYS: the queue key list of src/queue/lua/include/queue.lua: KEYS[1..4] pending lists,
  KEYS[5] delayed, KEYS[7] completed, KEYS[8] dead; the others are unused.
  ARGV[1] prefix   ARGV[2] id
  Returns { code, state }: 1 = deleted, 0 = no such job, -1 = not deletable in `state` (active).
  A dedupe entry is released as cancel.lua and clear.lua release it: only by the job that made
  it, and never one that holds a cached result.
]]
local PRIORITY_INDEX = { critical = 1, high = 2, normal = 3, low = 4 }
local prefix, id = ARGV[1], ARGV[2]
local key = prefix .. 'job:' .. id
local f = redis.call('HMGET', key, 'state', 'priority', 'dedupeKey')
if not f[1] then return { 0, '' } end
local state = f[1]
if state == 'pending' then
  redis.call('LREM', KEYS[PRIORITY_INDEX[f[2]] or 3], 1, id)
elseif state == 'delayed' then
  redis.call('ZREM', KEYS[5], id)
elseif state == 'completed' then
  redis.call('ZREM', KEYS[7], id)
elseif state == 'dead' then
  redis.call('ZREM', KEYS[8], id)
else
  return { -1, state }
end
if f[3] and f[3] ~= '' then
  local dk = prefix .. 'dedupe:' .. f[3]
  if redis.call('HGET', dk, 'jobId') == id and redis.call('HEXISTS', dk, 'result') == 0 then redis.call('DEL', dk) end
end
redis.call('DEL', key)
return { 1, state }
