/**
 * bee-queue's worker. It has no pause: a worker runs until closed, and process() may be called
 * once per instance. So the warm-up instance is closed and a second one, connected and ready,
 * takes the measured jobs; the process and its JIT stay warm.
 */
import BeeQueue from 'bee-queue';
import { hostPort, inlineNoop, type Consumer, type ConsumerHooks } from './e2e-shared.js';
import type { BenchJobData, ConsumerSpec } from './e2e-protocol.js';

export function openBeeQueue(spec: ConsumerSpec, hooks: ConsumerHooks): Consumer {
  const settings: BeeQueue.QueueSettings = {
    redis: hostPort(spec.redisUrl),
    removeOnSuccess: true,
    // getEvents subscribes to job events for producers awaiting results; a worker needs none.
    getEvents: false,
  };
  const open = async () => {
    const queue = new BeeQueue<BenchJobData>(spec.queue, settings);
    queue.on('succeeded', () => hooks.finished());
    queue.on('failed', (job, err) => hooks.failed(`bee-queue job ${job.id} failed: ${err.message}`));
    queue.on('error', (err) => hooks.failed(`bee-queue error: ${err.message}`));
    await queue.ready();
    return queue;
  };
  const consume = (queue: BeeQueue<BenchJobData>) => queue.process(spec.concurrency, (job) => inlineNoop(job.data));
  let queue: BeeQueue<BenchJobData> | undefined;
  return {
    start: async () => {
      queue = await open();
      consume(queue);
    },
    pause: async () => {
      await queue?.close();
      queue = await open();
    },
    resume: async () => {
      if (queue) consume(queue);
    },
    close: async () => queue?.close(),
  };
}
