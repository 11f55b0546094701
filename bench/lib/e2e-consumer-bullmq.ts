/** BullMQ's Worker: an inline async processor, or a processor file run on worker threads. */
import { Worker } from 'bullmq';
import { hostPort, inlineNoop, type Consumer, type ConsumerHooks } from './e2e-shared.js';
import type { BenchJobData, ConsumerSpec } from './e2e-protocol.js';

export function openBullmq(spec: ConsumerSpec, hooks: ConsumerHooks, sandboxed: boolean): Consumer {
  let worker: Worker<BenchJobData, null> | undefined;
  const connection = hostPort(spec.redisUrl);
  return {
    start: async () => {
      worker = sandboxed
        ? new Worker<BenchJobData, null>(spec.queue, spec.processorFile, { connection, concurrency: spec.concurrency, useWorkerThreads: true })
        : new Worker<BenchJobData, null>(spec.queue, (job) => inlineNoop(job.data), { connection, concurrency: spec.concurrency });
      worker.on('completed', () => hooks.finished());
      worker.on('failed', (job, err) => hooks.failed(`bullmq job ${job?.id ?? '?'} failed: ${err.message}`));
      worker.on('error', (err) => hooks.failed(`bullmq worker error: ${err.message}`));
      await worker.waitUntilReady();
    },
    // A local pause: this worker stops fetching; its sandbox threads stay in the pool.
    pause: async () => worker?.pause(),
    resume: async () => worker?.resume(),
    close: async () => worker?.close(),
  };
}
