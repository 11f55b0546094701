import { Queue } from '../queue/queue.js';
import type { RedisClient } from '../queue/connection.js';
import type { FollowUpJob } from '../processors/contract.js';
import type { JobOptions } from '../queue/options.js';

export interface FollowUpBatch {
  parentQueue: string;
  parentId: string;
  jobs: FollowUpJob[];
}

/**
 * Enqueues the follow-ups a job named, before the job is marked complete. Ids are derived
 * from the parent (`<parent id>.<n>`), so if the supervisor dies between the two steps the
 * re-run enqueues the same ids again and nothing is doubled.
 */
export class FollowUpEnqueuer {
  private readonly queues = new Map<string, Queue>();

  constructor(private readonly client: RedisClient) {}

  async enqueue(batches: readonly FollowUpBatch[]): Promise<void> {
    const byQueue = new Map<string, Array<{ processor: string; data: unknown; options: JobOptions }>>();
    for (const { parentQueue, parentId, jobs } of batches) {
      jobs.forEach((job, n) => {
        const target = job.queue ?? parentQueue;
        const options = { ...(job.options as JobOptions | undefined), jobId: `${parentId}.${n}` };
        const list = byQueue.get(target) ?? [];
        list.push({ processor: job.processor, data: job.data, options });
        byQueue.set(target, list);
      });
    }
    await Promise.all([...byQueue].map(([name, specs]) => this.queue(name).enqueueMany(specs)));
  }

  private queue(name: string): Queue {
    let queue = this.queues.get(name);
    if (!queue) this.queues.set(name, (queue = new Queue(name, { connection: this.client })));
    return queue;
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
  }
}
