--[[ sweep-finished: delete finished jobs past their own retention, one window of the set.
  KEYS[1] the state's zset (completed or dead, by finish time)
  ARGV[1] key prefix "troupe:{queue}:"   ARGV[2] now (ms)   ARGV[3] start rank (oldest first)
  ARGV[4] window size   ARGV[5] 'Completed' or 'Dead' (which keep* fields apply)   ARGV[6] '1' = dry run
  A job goes when it finished at or before now - keep<State>Age, or when keep<State>Count or more
  jobs finished after it (-1 or absent = no limit: the rules the finish scripts apply), or when
  its hash is gone. Returns { removed, next start rank or -1 when the set is done }.
]]
local zset, prefix, now = KEYS[1], ARGV[1], tonumber(ARGV[2])
local start, size, which, dry = tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5], ARGV[6] == '1'
local total = redis.call('ZCARD', zset)
local entries = redis.call('ZRANGE', zset, start, start + size - 1, 'WITHSCORES')
local gone = {}
for i = 1, #entries, 2 do
  local id, finished = entries[i], tonumber(entries[i + 1])
  local newer = total - 1 - (start + (i - 1) / 2)
  local key = prefix .. 'job:' .. id
  local f = redis.call('HMGET', key, 'keep' .. which .. 'Age', 'keep' .. which .. 'Count')
  local age, count = tonumber(f[1]) or -1, tonumber(f[2]) or -1
  if (age >= 0 and finished <= now - age) or (count >= 0 and newer >= count)
    or (not f[1] and not f[2] and redis.call('EXISTS', key) == 0) then
    gone[#gone + 1] = id
  end
end
local seen = #entries / 2
if not dry and #gone > 0 then
  local keys = {}
  for i, id in ipairs(gone) do keys[i] = prefix .. 'job:' .. id end
  redis.call('DEL', unpack(keys))
  redis.call('ZREM', zset, unpack(gone))
  seen = seen - #gone
  total = total - #gone
end
local nextStart = start + seen
if nextStart >= total or #entries == 0 then nextStart = -1 end
return { #gone, nextStart }
