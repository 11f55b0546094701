/**
 * The limit: the mechanism Troupe is built on with nothing around it, so the end-to-end bench can
 * say how close Troupe comes to it. A job is a hash holding its data; a queue is a list of
 * pending ids and a sorted set of leased ids by lease deadline. Three Lua scripts, each called
 * once per batch:
 *
 *   enqueue   ids from a counter, one hash per job, the ids pushed onto the pending list
 *   lease     pops up to `max` ids, gives each a fencing token from a per-queue counter, adds it
 *             to the active set with its deadline, and returns id, token and data per job
 *   complete  for each (id, token) whose token still matches: the job is done and gone (its hash
 *             deleted, as Troupe's keepCompleted { count: 0 } does); a stale token is counted as
 *             lost and changes nothing
 *
 * What it leaves out is what a runtime adds: priorities, delayed jobs, attempts and retries,
 * timeouts, renewals and reclaiming of expired leases, events, retention, metrics, pausing in
 * Redis. It keeps what the mechanism's guarantees rest on: leases with deadlines and fencing
 * tokens, so a job is completed only by its current lease holder.
 */
import type { Redis } from 'ioredis';

/** Jobs per lease and per complete call, as the probe and Troupe's batched acks use. */
export const LIMIT_BATCH = 128;
/** Troupe's default lease (leaseMs); nothing here reclaims, but the deadline is written as Troupe writes it. */
export const LIMIT_LEASE_MS = 30_000;

// KEYS[1] pending list, KEYS[2] job id counter; ARGV[1] job key prefix, ARGV[2..] the jobs' data.
const ENQUEUE = `
local n = #ARGV - 1
local first = redis.call('INCRBY', KEYS[2], n) - n
local ids = {}
for i = 1, n do
  local id = tostring(first + i)
  redis.call('HSET', ARGV[1] .. id, 'data', ARGV[i + 1])
  ids[i] = id
end
redis.call('RPUSH', KEYS[1], unpack(ids))
return n
`;

// KEYS[1] pending list, KEYS[2] active set, KEYS[3] token counter;
// ARGV[1] job key prefix, ARGV[2] most jobs, ARGV[3] lease deadline (ms).
// Returns id, token, data per job leased (empty when nothing is pending).
const LEASE = `
local ids = redis.call('LPOP', KEYS[1], ARGV[2])
if not ids then return {} end
local last = redis.call('INCRBY', KEYS[3], #ids)
local out, active = {}, {}
for i, id in ipairs(ids) do
  local key = ARGV[1] .. id
  local token = tostring(last - #ids + i)
  redis.call('HSET', key, 'token', token)
  out[#out + 1] = id
  out[#out + 1] = token
  out[#out + 1] = redis.call('HGET', key, 'data') or ''
  active[#active + 1] = ARGV[3]
  active[#active + 1] = id
end
redis.call('ZADD', KEYS[2], unpack(active))
return out
`;

// KEYS[1] active set; ARGV[1] job key prefix, then id, token per job. Returns how many were lost.
const COMPLETE = `
local done, lost = {}, 0
for i = 2, #ARGV, 2 do
  local key = ARGV[1] .. ARGV[i]
  if redis.call('HGET', key, 'token') == ARGV[i + 1] then
    redis.call('DEL', key)
    done[#done + 1] = ARGV[i]
  else
    lost = lost + 1
  end
end
if #done > 0 then redis.call('ZREM', KEYS[1], unpack(done)) end
return lost
`;

/** A leased batch, by column: what the main thread keeps (ids, tokens) and hands on (data). */
export interface LimitBatch {
  ids: string[];
  tokens: string[];
  data: string[];
}

interface LimitCommands {
  limitEnqueue(pending: string, seq: string, prefix: string, ...data: string[]): Promise<number>;
  limitLease(pending: string, active: string, tokens: string, prefix: string, max: number, deadline: number): Promise<string[]>;
  limitComplete(active: string, prefix: string, ...idTokens: string[]): Promise<number>;
}

export function limitKeys(queue: string) {
  const base = `limit:${queue}`;
  return { pending: `${base}:pending`, active: `${base}:active`, seq: `${base}:seq`, tokens: `${base}:tokens`, job: `${base}:job:` };
}

/** The limit's scripts on one ioredis connection (EVALSHA, EVAL on a script cache miss). */
export class LimitQueue {
  private readonly keys: ReturnType<typeof limitKeys>;
  private readonly redis: Redis & LimitCommands;

  constructor(redis: Redis, queue: string) {
    this.keys = limitKeys(queue);
    redis.defineCommand('limitEnqueue', { numberOfKeys: 2, lua: ENQUEUE });
    redis.defineCommand('limitLease', { numberOfKeys: 3, lua: LEASE });
    redis.defineCommand('limitComplete', { numberOfKeys: 1, lua: COMPLETE });
    // defineCommand adds the methods at run time; LimitCommands names them for the compiler.
    this.redis = redis as Redis & LimitCommands;
  }

  async enqueue(data: string[]): Promise<void> {
    if (data.length === 0) return;
    await this.redis.limitEnqueue(this.keys.pending, this.keys.seq, this.keys.job, ...data);
  }

  async lease(max: number): Promise<LimitBatch> {
    const flat = await this.redis.limitLease(this.keys.pending, this.keys.active, this.keys.tokens, this.keys.job, max, Date.now() + LIMIT_LEASE_MS);
    const n = flat.length / 3;
    const batch: LimitBatch = { ids: new Array<string>(n), tokens: new Array<string>(n), data: new Array<string>(n) };
    for (let i = 0, j = 0; j < n; i += 3, j++) {
      batch.ids[j] = flat[i]!;
      batch.tokens[j] = flat[i + 1]!;
      batch.data[j] = flat[i + 2]!;
    }
    return batch;
  }

  /** Completes a leased batch; returns how many of its leases were lost (stale token, job gone). */
  async complete(ids: readonly string[], tokens: readonly string[]): Promise<number> {
    if (ids.length === 0) return 0;
    const args = new Array<string>(ids.length * 2);
    for (let i = 0; i < ids.length; i++) {
      args[2 * i] = ids[i]!;
      args[2 * i + 1] = tokens[i]!;
    }
    return Number(await this.redis.limitComplete(this.keys.active, this.keys.job, ...args));
  }

  /** Jobs pending, leased (active), and job hashes left (any state). */
  async counts(): Promise<{ pending: number; active: number; jobs: number }> {
    const [pending, active] = await Promise.all([this.redis.llen(this.keys.pending), this.redis.zcard(this.keys.active)]);
    let jobs = 0;
    let cursor = '0';
    do {
      const [next, found] = await this.redis.scan(cursor, 'MATCH', `${this.keys.job}*`, 'COUNT', 1000);
      jobs += found.length;
      cursor = next;
    } while (cursor !== '0');
    return { pending, active, jobs };
  }
}
