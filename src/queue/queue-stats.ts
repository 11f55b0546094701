/**
 * Queue discovery and counts, as `troupe stats`, `troupe status` and the dashboard read them:
 * one module below all three, so the dashboard does not depend on the CLI.
 */
import { scanEveryMaster, type RedisClient } from './connection.js';
import { QUEUE_NAME_PATTERN } from './keys.js';
import { Queue, type QueueCounts } from './queue.js';

/**
 * A queue exists in Redis only through its keys, and any of these may be the only one left
 * (meta holds pauses; the rest hold jobs). Job keys are not matched: there can be millions.
 */
export const QUEUE_KEY_SUFFIXES = ['meta', 'pending:*', 'delayed', 'active', 'completed', 'dead'];
/** Cross-queue keys (the supervisor registry) share the troupe:{...} shape but are no queue. */
const NOT_QUEUES = new Set(['registry', 'schedules']);
const PREFIX = 'troupe:{';

export async function discoverQueues(client: RedisClient, suffixes = QUEUE_KEY_SUFFIXES): Promise<string[]> {
  const names = new Set<string>();
  for (const suffix of suffixes) {
    // Each queue lives on the master owning its slot, so a cluster is scanned master by master.
    await scanEveryMaster(client, `${PREFIX}*}:${suffix}`, async (keys) => {
      for (const key of keys) {
        const name = key.slice(PREFIX.length, key.indexOf('}', PREFIX.length));
        if (!NOT_QUEUES.has(name) && QUEUE_NAME_PATTERN.test(name)) names.add(name);
      }
    });
  }
  return [...names].sort();
}

export interface QueueStats {
  counts: Pick<QueueCounts, 'pending' | 'delayed' | 'active' | 'completed' | 'dead'>;
  byPriority: QueueCounts['byPriority'];
  paused: boolean;
  resourcePause: QueueCounts['resourcePause'];
}

export async function queueStats(client: RedisClient, name: string): Promise<QueueStats> {
  const queue = new Queue(name, { connection: client });
  try {
    const { pending, delayed, active, completed, dead, byPriority, paused, resourcePause } = await queue.counts();
    return { counts: { pending, delayed, active, completed, dead }, byPriority, paused, resourcePause };
  } finally {
    await queue.close();
  }
}

/** A few queues at a time: one round trip each, without flooding Redis when there are thousands. */
export async function statsFor(client: RedisClient, names: string[]): Promise<Record<string, QueueStats>> {
  const out: Record<string, QueueStats> = {};
  for (let i = 0; i < names.length; i += 32) {
    const chunk = names.slice(i, i + 32);
    const stats = await Promise.all(chunk.map((name) => queueStats(client, name)));
    chunk.forEach((name, j) => (out[name] = stats[j]!));
  }
  return out;
}
