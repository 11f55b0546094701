--[[ remove: delete a schedule and its fire memory.
  KEYS[1] names   KEYS[2] version   KEYS[3] the schedule's hash   KEYS[4] its fires (zset)
  ARGV[1] name
  Returns 1 removed, 0 no such schedule. Pending fires of it are dropped by the next recovery.
]]
local existed = redis.call('SREM', KEYS[1], ARGV[1]) + redis.call('DEL', KEYS[3])
redis.call('DEL', KEYS[4])
if existed == 0 then return 0 end
redis.call('INCR', KEYS[2])
return 1
