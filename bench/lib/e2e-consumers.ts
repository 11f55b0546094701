/**
 * The consumers a bench child runs, one per process: a real Troupe supervisor, BullMQ's Worker
 * (inline and sandboxed on worker threads), bee-queue's process(), and raw Piscina. Each one
 * reports every job that reached its final state in Redis, so the child can tell when a drain
 * is over without asking Redis (which would add commands to the count).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import BeeQueue from 'bee-queue';
import { Worker as BullWorker } from 'bullmq';
import { Piscina } from 'piscina';
import { Queue } from '../../src/queue/index.js';
import { defaultConfig, type SupervisorConfig } from '../../src/supervisor/config.js';
import { createLogger } from '../../src/supervisor/logger.js';
import { loadProcessorTable } from '../../src/supervisor/processor-table.js';
import { servicesFor } from '../../src/supervisor/services.js';
import { Supervisor } from '../../src/supervisor/supervisor.js';
import type { BenchJobData, ConsumerSpec } from './e2e-protocol.js';

export interface Consumer {
  /** Starts consuming (threads, connections, loops). */
  start(): Promise<void>;
  /** Stops taking new jobs once the queue is drained of warm-up jobs; the consumer stays built. */
  pause(): Promise<void>;
  resume(): Promise<void>;
  close(): Promise<void>;
}

export interface ConsumerHooks {
  /** A job finished and its outcome is in Redis. */
  finished(): void;
  /** A job failed or something broke: the phase is void. */
  failed(reason: string): void;
}

function hostPort(redisUrl: string): { host: string; port: number } {
  const url = new URL(redisUrl);
  return { host: url.hostname, port: Number(url.port || 6379) };
}

async function inlineNoop(data: BenchJobData): Promise<null> {
  if (data.ms) await sleep(data.ms);
  return null;
}

/** A supervisor as `troupe supervise` builds one, without the CLI around it. */
async function troupe(spec: ConsumerSpec, hooks: ConsumerHooks): Promise<Consumer> {
  const config: SupervisorConfig = {
    ...defaultConfig(),
    redisUrl: spec.redisUrl,
    queues: [spec.queue],
    threads: spec.concurrency,
    minThreads: spec.concurrency,
    // Peers run no scheduler and no HTTP endpoint; neither is on the job path.
    scheduler: false,
    httpPort: 0,
    logLevel: 'warn',
  };
  const logger = createLogger(config.logLevel);
  const processors = await loadProcessorTable([], process.cwd());
  const supervisor = new Supervisor({ config, logger, processors, services: servicesFor(config) });
  supervisor.events.on('settled', ({ job, disposition }) => {
    if (disposition === 'completed') hooks.finished();
    else hooks.failed(`troupe job ${job.id} ended ${disposition}`);
  });
  // Pausing is the queue's operator pause: every supervisor stops leasing, and resume() wakes them.
  const admin = new Queue(spec.queue, { connection: spec.redisUrl });
  return {
    start: () => supervisor.start(),
    pause: () => admin.pause(),
    resume: () => admin.resume(),
    close: async () => {
      await supervisor.stop();
      await admin.close();
    },
  };
}

function bullmq(spec: ConsumerSpec, hooks: ConsumerHooks, sandboxed: boolean): Consumer {
  let worker: BullWorker<BenchJobData, null> | undefined;
  const connection = hostPort(spec.redisUrl);
  return {
    start: async () => {
      worker = sandboxed
        ? new BullWorker<BenchJobData, null>(spec.queue, spec.processorFile, { connection, concurrency: spec.concurrency, useWorkerThreads: true })
        : new BullWorker<BenchJobData, null>(spec.queue, (job) => inlineNoop(job.data), { connection, concurrency: spec.concurrency });
      worker.on('completed', () => hooks.finished());
      worker.on('failed', (job, err) => hooks.failed(`bullmq job ${job?.id ?? '?'} failed: ${err.message}`));
      worker.on('error', (err) => hooks.failed(`bullmq worker error: ${err.message}`));
      await worker.waitUntilReady();
    },
    // A local pause: this worker stops fetching, its sandbox threads stay in the pool.
    pause: async () => worker?.pause(),
    resume: async () => worker?.resume(),
    close: async () => worker?.close(),
  };
}

/**
 * bee-queue has no pause: a worker runs until closed, and process() may be called once per
 * instance. The warm-up instance is closed and a second one, connected and ready, takes the
 * measured jobs; the process and its JIT stay warm.
 */
function beeQueue(spec: ConsumerSpec, hooks: ConsumerHooks): Consumer {
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
  const process = (queue: BeeQueue<BenchJobData>) => queue.process(spec.concurrency, (job) => inlineNoop(job.data));
  let queue: BeeQueue<BenchJobData> | undefined;
  return {
    start: async () => {
      queue = await open();
      process(queue);
    },
    pause: async () => {
      await queue?.close();
      queue = await open();
    },
    resume: async () => {
      if (queue) process(queue);
    },
    close: async () => queue?.close(),
  };
}

/**
 * Raw Piscina, for the resources bench: the pool alone, with no queue. Warm-up tasks come from
 * the child itself (spec.warmJobs tasks of 200 ms, so every thread takes one).
 */
function piscina(spec: ConsumerSpec, hooks: ConsumerHooks): Consumer {
  const pool = new Piscina({ filename: spec.processorFile, minThreads: spec.concurrency, maxThreads: spec.concurrency });
  const run = (count: number, ms: number) =>
    Promise.all(
      Array.from({ length: count }, (_, n) =>
        pool.run({ data: { n, ms } }).then(
          () => hooks.finished(),
          (err: unknown) => hooks.failed(`piscina task failed: ${String(err)}`),
        ),
      ),
    );
  return {
    start: async () => {
      await run(spec.warmJobs, 200);
    },
    pause: async () => {},
    resume: async () => {},
    close: () => pool.destroy(),
  };
}

export async function openConsumer(spec: ConsumerSpec, hooks: ConsumerHooks): Promise<Consumer> {
  switch (spec.kind) {
    case 'troupe':
      return troupe(spec, hooks);
    case 'bullmq-inline':
      return bullmq(spec, hooks, false);
    case 'bullmq-sandboxed':
      return bullmq(spec, hooks, true);
    case 'bee-queue':
      return beeQueue(spec, hooks);
    case 'piscina':
      return piscina(spec, hooks);
  }
}
