import { scanEveryMaster, type RedisClient } from '../queue/connection.js';
import { queueKeys } from '../queue/keys.js';

const SCAN_COUNT = 1000;

/**
 * Removes every key of the tune queue (pending copies, finished jobs, dead ones, events), so a
 * tune run leaves nothing in a shared Redis. Returns how many keys went.
 */
export async function deleteQueueKeys(client: RedisClient, queue: string): Promise<number> {
  // Queue names exclude glob characters (QUEUE_NAME_PATTERN), so the prefix matches literally.
  const pattern = `${queueKeys(queue).prefix}*`;
  let removed = 0;
  // The keys share the queue's hash tag, so one UNLINK per batch never crosses slots.
  await scanEveryMaster(client, pattern, async (keys) => {
    removed += await client.unlink(...keys);
  }, { count: SCAN_COUNT });
  return removed;
}
