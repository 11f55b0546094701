/**
 * Which queues live supervisors serve, read from the supervisor registry's keys (REGISTRY_KEYS;
 * src/supervisor/registry.ts writes them). The queue layer and the scheduler read the keys
 * themselves because they may not import the supervisor (docs/architecture.md). waitForResult
 * uses it to say why a job never started; the scheduler, to recover an any-queue fire onto the
 * queue its dead claimer chose.
 */
import type { RedisClient } from './connection.js';
import { REGISTRY_KEYS } from './keys.js';

/**
 * An entry is live while its heartbeat is at most three intervals old: the rule of
 * src/supervisor/registry.ts (`stale`), which `troupe status` shows.
 */
const LIVE_HEARTBEATS = 3;

/** The queue list of each live supervisor, one entry per supervisor. */
async function liveQueueLists(client: RedisClient, now: number): Promise<string[][]> {
  const ids = await client.zrange(REGISTRY_KEYS.index, '0', '-1');
  if (ids.length === 0) return [];
  const pipeline = client.pipeline();
  for (const id of ids) pipeline.hmget(REGISTRY_KEYS.entry(id), 'queues', 'heartbeatAt', 'heartbeatMs');
  const lists: string[][] = [];
  for (const [err, reply] of (await pipeline.exec()) ?? []) {
    if (err) throw err;
    const [queues, at, every] = reply as [string | null, string | null, string | null];
    if (queues === null || at === null || every === null) continue; // expired: the supervisor is gone
    if (now - Number(at) > Number(every) * LIVE_HEARTBEATS) continue;
    lists.push(queues.split(',').filter((q) => q !== ''));
  }
  return lists;
}

export async function liveSupervisorsServing(client: RedisClient, queue: string, now: number): Promise<number> {
  return (await liveQueueLists(client, now)).filter((queues) => queues.includes(queue)).length;
}

export async function queuesOfLiveSupervisors(client: RedisClient, now: number): Promise<Set<string>> {
  return new Set((await liveQueueLists(client, now)).flat());
}
