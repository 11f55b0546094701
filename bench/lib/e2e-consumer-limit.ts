/**
 * The limit consumer: the bare mechanism of e2e-limit.ts run the way Troupe runs it, and nothing
 * else. One lane per thread, each a loop of lease a batch (one script call) → one Piscina task
 * for the whole batch → complete the batch (one script call). With as many lanes as threads, a
 * task never waits inside Piscina for a thread. A lane that finds the queue empty ends: this
 * consumer drains pre-filled queues only, so it needs no polling, blocking or wake-up.
 * pause() lets the lanes finish their batch and stop; resume() starts them again.
 */
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { Piscina } from 'piscina';
import { LIMIT_BATCH, LimitQueue } from './e2e-limit.js';
import type { Consumer, ConsumerHooks } from './e2e-shared.js';
import type { ConsumerSpec } from './e2e-protocol.js';

/** Beside the no-op processor in bench/lib, used in place like it (the processor file is not built). */
function threadFile(processorFile: string): string {
  return fileURLToPath(new URL('e2e-limit-thread.cjs', pathToFileURL(processorFile)));
}

export function openLimit(spec: ConsumerSpec, hooks: ConsumerHooks): Consumer {
  const redis = new Redis(spec.redisUrl);
  const queue = new LimitQueue(redis, spec.queue);
  const pool = new Piscina({
    filename: threadFile(spec.processorFile),
    workerData: { processorFile: spec.processorFile },
    minThreads: spec.concurrency,
    maxThreads: spec.concurrency,
  });
  let stopping = false;
  let lanes: Promise<void> | undefined;

  const lane = async () => {
    while (!stopping) {
      const batch = await queue.lease(LIMIT_BATCH);
      if (batch.ids.length === 0) return;
      const results = (await pool.run({ data: batch.data })) as unknown[];
      if (results.length !== batch.ids.length) throw new Error(`limit task returned ${results.length} results for ${batch.ids.length} jobs`);
      const lost = await queue.complete(batch.ids, batch.tokens);
      if (lost > 0) throw new Error(`limit: ${lost} of ${batch.ids.length} leases were lost before completion`);
      for (let i = 0; i < batch.ids.length; i++) hooks.finished();
    }
  };
  const startLanes = () => {
    stopping = false;
    lanes = Promise.all(Array.from({ length: spec.concurrency }, () => lane())).then(
      () => undefined,
      (err: unknown) => hooks.failed(`limit lane failed: ${err instanceof Error ? err.message : String(err)}`),
    );
  };
  const stopLanes = async () => {
    stopping = true;
    await lanes;
  };
  return {
    start: async () => {
      await redis.ping();
      startLanes();
    },
    pause: stopLanes,
    resume: async () => startLanes(),
    close: async () => {
      await stopLanes();
      await pool.destroy();
      await redis.quit();
    },
  };
}
