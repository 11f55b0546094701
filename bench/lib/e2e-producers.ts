/**
 * The bench side's enqueue client per system, with each system's "drop a job once it completes"
 * retention, and a check that a drain really emptied the queue. Jobs go in batches of 128, each
 * system's bulk call (Troupe enqueueMany, the limit's enqueue script, BullMQ addBulk, bee-queue saveAll).
 */
import BeeQueue from 'bee-queue';
import { Queue as BullQueue } from 'bullmq';
import { Redis } from 'ioredis';
import { Queue } from '../../src/queue/index.js';
import { LimitQueue } from './e2e-limit.js';
import type { BenchJobData, ConsumerKind } from './e2e-protocol.js';
import { hostPort } from './e2e-shared.js';

export const ENQUEUE_BATCH = 128;

export interface Producer {
  /** Enqueues `count` jobs (n = 0..count-1), `ms` for warm-up jobs that should overlap. */
  enqueue(count: number, ms?: number): Promise<void>;
  /** Throws unless nothing is waiting, running or failed. */
  verifyDrained(): Promise<void>;
  /** True once nothing is waiting or running (for polling while warming up). */
  drained(): Promise<boolean>;
  close(): Promise<void>;
}

/** Troupe's equivalent of BullMQ removeOnComplete: true and bee-queue removeOnSuccess: true. */
export const TROUPE_RETENTION = { keepCompleted: { count: 0 } } as const;

function* batches(count: number, ms: number | undefined): Generator<BenchJobData[]> {
  for (let start = 0; start < count; start += ENQUEUE_BATCH) {
    const size = Math.min(ENQUEUE_BATCH, count - start);
    yield Array.from({ length: size }, (_, k) => (ms ? { n: start + k, ms } : { n: start + k }));
  }
}

function expectZero(system: string, counts: Record<string, number | undefined>): void {
  const left = Object.entries(counts).filter(([, n]) => n !== 0);
  if (left.length > 0) throw new Error(`${system} not drained: ${left.map(([k, n]) => `${k}=${n}`).join(', ')}`);
}

function troupe(redisUrl: string, queueName: string): Producer {
  const queue = new Queue<BenchJobData>(queueName, { connection: redisUrl, defaultJobOptions: TROUPE_RETENTION });
  return {
    enqueue: async (count, ms) => {
      // Warm-up jobs with a wait use the built-in sleep processor; measured jobs are noop.
      const processor = ms ? 'sleep' : 'noop';
      for (const batch of batches(count, ms)) await queue.enqueueMany(batch.map((data) => ({ processor, data })));
    },
    verifyDrained: async () => {
      const c = await queue.counts();
      expectZero('troupe', { pending: c.pending, active: c.active, delayed: c.delayed, dead: c.dead, completed: c.completed });
    },
    drained: async () => {
      const c = await queue.counts();
      return c.pending + c.active + c.delayed === 0;
    },
    close: () => queue.close(),
  };
}

/** The limit (e2e-limit.ts): the same JSON data Troupe stores, one enqueue script per batch. */
function limit(redisUrl: string, queueName: string): Producer {
  const redis = new Redis(redisUrl);
  const queue = new LimitQueue(redis, queueName);
  return {
    enqueue: async (count, ms) => {
      for (const batch of batches(count, ms)) await queue.enqueue(batch.map((data) => JSON.stringify(data)));
    },
    verifyDrained: async () => {
      const c = await queue.counts();
      expectZero('limit', { pending: c.pending, active: c.active, 'jobs left': c.jobs });
    },
    drained: async () => {
      const c = await queue.counts();
      return c.pending + c.active === 0;
    },
    close: async () => {
      await redis.quit();
    },
  };
}

function bullmq(redisUrl: string, queueName: string): Producer {
  const queue = new BullQueue<BenchJobData, null>(queueName, { connection: hostPort(redisUrl) });
  return {
    enqueue: async (count, ms) => {
      for (const batch of batches(count, ms)) await queue.addBulk(batch.map((data) => ({ name: 'noop', data, opts: { removeOnComplete: true } })));
    },
    verifyDrained: async () => {
      const c = await queue.getJobCounts('wait', 'active', 'delayed', 'failed', 'completed');
      expectZero('bullmq', c);
    },
    drained: async () => {
      const c = await queue.getJobCounts('wait', 'active', 'delayed');
      return (c.wait ?? 0) + (c.active ?? 0) + (c.delayed ?? 0) === 0;
    },
    close: () => queue.close(),
  };
}

function beeQueue(redisUrl: string, queueName: string): Producer {
  // A producer only; retention (removeOnSuccess) is a worker setting in bee-queue.
  const queue = new BeeQueue<BenchJobData>(queueName, { redis: hostPort(redisUrl), isWorker: false, getEvents: false, sendEvents: false, storeJobs: false });
  return {
    enqueue: async (count, ms) => {
      await queue.ready();
      for (const batch of batches(count, ms)) {
        const failed = await queue.saveAll(batch.map((data) => queue.createJob(data)));
        if (failed.size > 0) throw [...failed.values()][0]!;
      }
    },
    verifyDrained: async () => {
      const h = await queue.checkHealth();
      expectZero('bee-queue', { waiting: h.waiting, active: h.active, delayed: h.delayed, failed: h.failed, succeeded: h.succeeded });
    },
    drained: async () => {
      const h = await queue.checkHealth();
      return h.waiting + h.active + h.delayed === 0;
    },
    close: () => queue.close(),
  };
}

export function openProducer(kind: ConsumerKind, redisUrl: string, queueName: string): Producer {
  switch (kind) {
    case 'troupe':
      return troupe(redisUrl, queueName);
    case 'limit':
      return limit(redisUrl, queueName);
    case 'bullmq-inline':
    case 'bullmq-sandboxed':
      return bullmq(redisUrl, queueName);
    case 'bee-queue':
      return beeQueue(redisUrl, queueName);
    case 'piscina':
      throw new Error('piscina has no queue to enqueue to');
  }
}
