--[[ set-paused: pause or resume a schedule.
  KEYS[1] version   KEYS[2] the schedule's hash
  ARGV[1] '1' pause, '0' resume   ARGV[2] now (ms)
  Returns 1 changed, 0 already so, -1 no such schedule.
  Resuming sets activeSince = now: fires due while paused were not missed, they were not wanted.
]]
local current = redis.call('HGET', KEYS[2], 'paused')
if not current then return -1 end
if current == ARGV[1] then return 0 end
if ARGV[1] == '1' then
  redis.call('HSET', KEYS[2], 'paused', '1', 'pausedAt', ARGV[2])
else
  redis.call('HSET', KEYS[2], 'paused', '0', 'activeSince', ARGV[2])
  redis.call('HDEL', KEYS[2], 'pausedAt')
end
redis.call('INCR', KEYS[1])
return 1
