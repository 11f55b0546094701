/**
 * Raw Piscina, for the resources bench: the pool alone, with no queue. Its warm-up tasks come
 * from the child itself (spec.warmJobs tasks of 200 ms at once, so every thread takes one).
 */
import { Piscina } from 'piscina';
import type { Consumer, ConsumerHooks } from './e2e-shared.js';
import type { ConsumerSpec } from './e2e-protocol.js';

const WARM_TASK_MS = 200;

export function openPiscina(spec: ConsumerSpec, hooks: ConsumerHooks): Consumer {
  const pool = new Piscina({ filename: spec.processorFile, minThreads: spec.concurrency, maxThreads: spec.concurrency });
  const run = (count: number) =>
    Promise.all(
      Array.from({ length: count }, (_, n) =>
        pool.run({ data: { n, ms: WARM_TASK_MS } }).then(
          () => hooks.finished(),
          (err: unknown) => hooks.failed(`piscina task failed: ${String(err)}`),
        ),
      ),
    );
  return {
    start: async () => {
      await run(spec.warmJobs);
    },
    pause: async () => {},
    resume: async () => {},
    close: () => pool.destroy(),
  };
}
