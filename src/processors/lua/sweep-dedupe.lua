--[[ sweep-dedupe: drop dedupe entries of one queue that nothing would ever remove.
  KEYS: dedupe keys, all of one queue (its hash tag keeps them in one cluster slot)
  ARGV[1] key prefix "troupe:{queue}:"   ARGV[2] now (ms)   ARGV[3] '1' = dry run
  Dropped: a cached result without a TTL whose job is gone or whose resultTtlMs has passed;
  an in-flight marker whose job is gone or no longer pending, delayed or active.
  Entries with a TTL are left to Redis. Returns the number dropped.
]]
local prefix, now, dry = ARGV[1], tonumber(ARGV[2]), ARGV[3] == '1'
local dropped = 0
for _, key in ipairs(KEYS) do
  local d = redis.call('HMGET', key, 'jobId', 'result')
  local job = { false, false, false }
  if d[1] then job = redis.call('HMGET', prefix .. 'job:' .. d[1], 'state', 'finishedAt', 'resultTtlMs') end
  local drop = false
  if d[2] then
    if redis.call('PTTL', key) == -1 then
      local finished, ttl = tonumber(job[2]), tonumber(job[3])
      drop = (not job[1]) or (not finished) or (not ttl) or finished + ttl <= now
    end
  elseif d[1] then
    drop = job[1] ~= 'pending' and job[1] ~= 'delayed' and job[1] ~= 'active'
  end
  if drop then
    dropped = dropped + 1
    if not dry then redis.call('DEL', key) end
  end
end
return dropped
