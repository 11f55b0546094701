--[[ save: create or change one schedule's definition.
  KEYS[1] names (set)   KEYS[2] version (counter)   KEYS[3] the schedule's hash
  ARGV[1] name   ARGV[2] definition (JSON)   ARGV[3] source (cli, config, builtin, api)   ARGV[4] now (ms)
  ARGV[5] mode   'create'  only when absent
                 'replace' create, or overwrite what is there
                 'sync'    create, or overwrite a definition that came from a config file
                 'ensure'  create, or overwrite a definition that is still the built-in one
                           (source builtin, e.g. as an older version wrote it); never one
                           people set (the built-in maintenance schedule: every supervisor
                           declares the same definition, so they do not fight over it)
  Returns { status, source of what is stored }:
    'created' | 'updated' | 'unchanged' (same definition) | 'exists' (create met a different one) |
    'kept' (sync or ensure left a definition that people manage at run time)
  A new definition restarts missed-fire accounting (activeSince = now) and bumps rev, which
  claim checks; pause state is kept.
]]
local key, now, mode = KEYS[3], ARGV[4], ARGV[5]
local f = redis.call('HMGET', key, 'def', 'source')
if not f[1] then
  redis.call('HSET', key, 'def', ARGV[2], 'rev', 1, 'source', ARGV[3], 'paused', '0',
    'createdAt', now, 'updatedAt', now, 'activeSince', now)
  redis.call('SADD', KEYS[1], ARGV[1])
  redis.call('INCR', KEYS[2])
  return { 'created', ARGV[3] }
end
if f[1] == ARGV[2] then
  if mode == 'replace' and f[2] ~= ARGV[3] then
    redis.call('HSET', key, 'source', ARGV[3])
    return { 'unchanged', ARGV[3] }
  end
  return { 'unchanged', f[2] }
end
if mode == 'create' then return { 'exists', f[2] } end
if (mode == 'ensure' and f[2] ~= 'builtin') or (mode == 'sync' and f[2] ~= 'config') then return { 'kept', f[2] } end
redis.call('HSET', key, 'def', ARGV[2], 'source', ARGV[3], 'updatedAt', now, 'activeSince', now)
redis.call('HINCRBY', key, 'rev', 1)
redis.call('INCR', KEYS[2])
return { 'updated', ARGV[3] }
