import type { Redis } from 'ioredis';
import { queueKeys } from '../queue/keys.js';

const SCAN_COUNT = 1000;

/**
 * Removes every key of the tune queue (pending copies, finished jobs, dead ones, events), so a
 * tune run leaves nothing in a shared Redis. Returns how many keys went.
 */
export async function deleteQueueKeys(client: Redis, queue: string): Promise<number> {
  // Queue names exclude glob characters (QUEUE_NAME_PATTERN), so the prefix matches literally.
  const pattern = `${queueKeys(queue).prefix}*`;
  let cursor = '0';
  let removed = 0;
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', SCAN_COUNT);
    cursor = next;
    if (keys.length > 0) removed += await client.unlink(...keys);
  } while (cursor !== '0');
  return removed;
}
