--[[ claim: take one fire of a schedule. Exactly one caller gets each fire, whatever order fires
  and callers arrive in and however far apart their clocks are, and even after the fire's job
  was finished and trimmed (which is why this does not rely on the job id alone).
  KEYS[1] the schedule's hash   KEYS[2] its fires (zset)   KEYS[3] pending (hash)
  ARGV[1] name   ARGV[2] fire (ms)   ARGV[3] the definition rev the caller evaluated
  ARGV[4] owner (supervisor id)   ARGV[5] now (ms, the caller's clock)   ARGV[6] memory window (ms)
  ARGV[7] the queue the caller will enqueue into (recorded, so a recovery of an any-queue
          schedule's fire can use the same queue and the same job id)
  Returns  1 claimed: enqueue the fire's job, then delete the pending entry
           0 taken: claimed before, or older than the window behind the latest claim
          -1 stale: the schedule was removed or redefined since the caller loaded it
          -2 paused
]]
local f = redis.call('HMGET', KEYS[1], 'rev', 'paused', 'lastFire')
if f[1] ~= ARGV[3] then return -1 end
if f[2] == '1' then return -2 end
if redis.call('ZSCORE', KEYS[2], ARGV[2]) then return 0 end
local fire, window = tonumber(ARGV[2]), tonumber(ARGV[6])
local last = tonumber(f[3])
if last and fire <= last - window then return 0 end
redis.call('ZADD', KEYS[2], fire, ARGV[2])
if not last or fire > last then
  last = fire
  redis.call('HSET', KEYS[1], 'lastFire', ARGV[2])
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. (last - window))
redis.call('HSET', KEYS[3], ARGV[1] .. '|' .. ARGV[2], ARGV[4] .. '|' .. ARGV[5] .. '|' .. (ARGV[7] or ''))
return 1
