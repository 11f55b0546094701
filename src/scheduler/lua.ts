/**
 * The scheduler's state changes, one Lua script each (a change is never a read in Node followed
 * by a write). They live here as strings rather than .lua files beside the code: the build copies
 * only src/queue/lua into dist, and inline sources keep the compiled scheduler self-contained.
 * Every script's keys carry the {schedules} hash tag (keys.ts), so each runs in one cluster slot.
 */
import { createHash } from 'node:crypto';
import type { RedisClient } from '../queue/connection.js';

export interface SchedulerScript {
  readonly name: string;
  readonly source: string;
  readonly sha: string;
  readonly keys: number;
}

function script(name: string, keys: number, source: string): SchedulerScript {
  return { name, keys, source, sha: createHash('sha1').update(source).digest('hex') };
}

export const SAVE = script('save', 3, `
--[[ save: create or change one schedule's definition.
  KEYS[1] names (set)   KEYS[2] version (counter)   KEYS[3] the schedule's hash
  ARGV[1] name   ARGV[2] definition (JSON)   ARGV[3] source (cli, config, builtin, api)   ARGV[4] now (ms)
  ARGV[5] mode   'create'  only when absent
                 'replace' create, or overwrite what is there
                 'sync'    create, or overwrite a definition that came from a config file
                 'ensure'  only when absent (the built-in maintenance schedule)
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
if mode == 'ensure' or (mode == 'sync' and f[2] ~= 'config') then return { 'kept', f[2] } end
redis.call('HSET', key, 'def', ARGV[2], 'source', ARGV[3], 'updatedAt', now, 'activeSince', now)
redis.call('HINCRBY', key, 'rev', 1)
redis.call('INCR', KEYS[2])
return { 'updated', ARGV[3] }
`);

export const REMOVE = script('remove', 4, `
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
`);

export const SET_PAUSED = script('set-paused', 2, `
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
`);

export const CLAIM = script('claim', 3, `
--[[ claim: take one fire of a schedule. Exactly one caller gets each fire, whatever order fires
  and callers arrive in and however far apart their clocks are, and even after the fire's job
  was finished and trimmed (which is why this does not rely on the job id alone).
  KEYS[1] the schedule's hash   KEYS[2] its fires (zset)   KEYS[3] pending (hash)
  ARGV[1] name   ARGV[2] fire (ms)   ARGV[3] the definition rev the caller evaluated
  ARGV[4] owner (supervisor id)   ARGV[5] now (ms, the caller's clock)   ARGV[6] memory window (ms)
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
redis.call('HSET', KEYS[3], ARGV[1] .. '|' .. ARGV[2], ARGV[4] .. '|' .. ARGV[5])
return 1
`);

function isNoScript(err: unknown): boolean {
  return err instanceof Error && err.message.startsWith('NOSCRIPT');
}

/** By SHA; after a Redis restart (NOSCRIPT) the source is sent once with EVAL, which caches it again. */
export async function runScript(client: RedisClient, s: SchedulerScript, keys: readonly string[], args: ReadonlyArray<string | number>): Promise<unknown> {
  if (keys.length !== s.keys) throw new Error(`scheduler script ${s.name} takes ${s.keys} keys, got ${keys.length}`);
  try {
    return await client.evalsha(s.sha, s.keys, ...keys, ...args);
  } catch (err) {
    if (!isNoScript(err)) throw err;
    return client.eval(s.source, s.keys, ...keys, ...args);
  }
}
