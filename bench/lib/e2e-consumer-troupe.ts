/** A Troupe supervisor as `troupe supervise` builds one, without the CLI around it. */
import { Queue } from '../../src/queue/index.js';
import { defaultConfig, type SupervisorConfig } from '../../src/supervisor/config.js';
import { createLogger } from '../../src/supervisor/logger.js';
import { buildSupervisor } from '../../src/runtime/build-supervisor.js';
import type { Consumer, ConsumerHooks } from './e2e-shared.js';
import type { ConsumerSpec } from './e2e-protocol.js';

export async function openTroupe(spec: ConsumerSpec, hooks: ConsumerHooks): Promise<Consumer> {
  const queues = spec.queues ?? [spec.queue];
  const config: SupervisorConfig = {
    ...defaultConfig(),
    redisUrl: spec.redisUrl,
    queues,
    // What --redis-wait-replicas (TROUPE_REDIS_WAIT_REPLICAS) sets; the wait timeout stays at its default.
    redisWaitReplicas: spec.waitReplicas ?? 0,
    threads: spec.concurrency,
    minThreads: spec.concurrency,
    // Peers run no scheduler and no HTTP endpoint; neither is on the job path.
    scheduler: false,
    httpPort: 0,
    logLevel: 'warn',
  };
  const logger = createLogger(config.logLevel);
  const supervisor = await buildSupervisor(config, { logger });
  supervisor.events.on('settled', ({ job, disposition }) => {
    if (disposition === 'completed') hooks.finished();
    else hooks.failed(`troupe job ${job.id} ended ${disposition}`);
  });
  // The queue's operator pause: every supervisor stops leasing, and resume() wakes them at once.
  const admins = queues.map((queue) => new Queue(queue, { connection: spec.redisUrl }));
  return {
    start: () => supervisor.start(),
    pause: async () => {
      await Promise.all(admins.map((a) => a.pause()));
    },
    resume: async () => {
      await Promise.all(admins.map((a) => a.resume()));
    },
    close: async () => {
      await supervisor.stop();
      await Promise.all(admins.map((a) => a.close()));
    },
  };
}
