/**
 * The consumers the latency bench measures, all in the bench process, each on its own queue:
 * a real Troupe supervisor, BullMQ's inline Worker and BullMQ's sandboxed Worker (worker threads).
 *
 * Every one records the same two things per job, the same way: the processor stamps when it
 * started the job into its result, and the consumer stamps completion where it learns that Redis
 * took the job's outcome (Troupe: the supervisor's 'settled' event; BullMQ: the Worker's
 * 'completed' event, emitted after moveToFinished returns).
 */
import { fileURLToPath } from 'node:url';
import { Queue as BullQueue, Worker as BullWorker, type Job as BullJob } from 'bullmq';
import { Queue } from '../../src/index.js';
import type { Supervisor } from '../../src/supervisor/supervisor.js';
import { startBenchSupervisor } from './cpu-supervisor.js';
import { isProbeData, type JobTimes, type ProbeData } from './latency-record.js';
import type { ProducerSystem } from './paced-protocol.js';
import type { SendAndDone } from './latency-capacity.js';
import { wallNow } from './paced-schedule.js';

export type ConsumerSystem = 'troupe' | 'bullmq-inline' | 'bullmq-sandboxed';

export const CONSUMER_LABEL: Record<ConsumerSystem, string> = {
  troupe: 'Troupe',
  'bullmq-inline': 'BullMQ inline',
  'bullmq-sandboxed': 'BullMQ sandboxed',
};

const PROBE_PLUGIN = fileURLToPath(new URL('./latency-probe-plugin.mjs', import.meta.url));
const BULLMQ_PROCESSOR = fileURLToPath(new URL('./latency-bullmq-processor.mjs', import.meta.url));
/** Troupe runs on 2 threads; BullMQ sandboxed gets the same 2 threads (concurrency 2). */
export const THREADS = 2;
/** BullMQ inline: the concurrency BullMQ's published inline latency figures use. */
export const BULLMQ_INLINE_CONCURRENCY = 100;
const READ_CHUNK = 500;

interface Completion {
  id: string;
  data: unknown;
  completedAt: number;
  /** Known at completion for BullMQ (the result comes with the event); read from Redis for Troupe. */
  startedAt?: number;
}

export interface LatencyConsumer {
  readonly system: ConsumerSystem;
  readonly producer: ProducerSystem;
  readonly queue: string;
  /** Forget earlier completions; count from now. */
  begin(): void;
  /** Resolves once `n` jobs completed since begin(); rejects on a failed job or after `timeoutMs`. */
  waitFor(n: number, timeoutMs: number): Promise<void>;
  /** Send and completion stamps of every job completed since begin() (capacity probe). */
  stamps(): SendAndDone[];
  /** Every probe job completed since begin(), with its four stamps. */
  collect(): Promise<JobTimes[]>;
  /** Removes finished jobs, so every phase starts from a small keyspace. */
  cleanup(): Promise<void>;
  close(): Promise<void>;
}

/** Completion bookkeeping shared by the consumers. */
class Completions {
  list: Completion[] = [];
  private failure: Error | undefined;
  private waiter: { n: number; resolve(): void; reject(err: Error): void } | undefined;

  begin(): void {
    this.list = [];
    this.failure = undefined;
  }

  add(c: Completion): void {
    this.list.push(c);
    if (this.waiter && this.list.length >= this.waiter.n) this.waiter.resolve();
  }

  stamps(): SendAndDone[] {
    return this.list.map((c) => ({ sentAt: isProbeData(c.data) ? c.data.a : Number.NaN, completedAt: c.completedAt }));
  }

  fail(err: Error): void {
    this.failure ??= err;
    this.waiter?.reject(err);
  }

  waitFor(n: number, timeoutMs: number): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.list.length >= n) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => done(new Error(`only ${this.list.length} of ${n} jobs completed within ${timeoutMs / 1000} s`)), timeoutMs);
      const done = (err?: Error) => {
        clearTimeout(timer);
        this.waiter = undefined;
        if (err) reject(err);
        else resolve();
      };
      this.waiter = { n, resolve: () => done(), reject: done };
    });
  }
}

function timesOf(c: Completion): JobTimes | undefined {
  if (!isProbeData(c.data) || c.startedAt === undefined) return undefined;
  return { scheduledAt: c.data.s, sentAt: c.data.a, startedAt: c.startedAt, completedAt: c.completedAt };
}

function startOf(result: unknown): number | undefined {
  const t = (result as { t?: unknown } | null | undefined)?.t;
  return typeof t === 'number' ? t : undefined;
}

async function troupeConsumer(redisUrl: string, queueName: string): Promise<LatencyConsumer> {
  const supervisor: Supervisor = await startBenchSupervisor({ redisUrl, queue: queueName, threads: THREADS, plugins: [PROBE_PLUGIN] });
  const queue = new Queue<ProbeData, { t: number }>(queueName, { connection: redisUrl });
  const done = new Completions();
  supervisor.events.on('settled', ({ job, disposition }) => {
    if (job.queue !== queueName) return;
    if (disposition === 'completed') done.add({ id: job.id, data: job.data, completedAt: wallNow() });
    else done.fail(new Error(`troupe: job ${job.id} ended ${disposition}`));
  });
  return {
    system: 'troupe',
    producer: 'troupe',
    queue: queueName,
    begin: () => done.begin(),
    waitFor: (n, timeoutMs) => done.waitFor(n, timeoutMs),
    stamps: () => done.stamps(),
    async collect() {
      // The start stamp is in each job's stored result; read after the phase, outside any timing.
      const probes = done.list.filter((c) => isProbeData(c.data));
      for (let i = 0; i < probes.length; i += READ_CHUNK) {
        const chunk = probes.slice(i, i + READ_CHUNK);
        const records = await Promise.all(chunk.map((c) => queue.getJob(c.id)));
        records.forEach((record, k) => {
          const startedAt = startOf(record?.result);
          if (startedAt === undefined) throw new Error(`troupe: job ${chunk[k]!.id} has no start stamp in its result (${record ? record.state : 'gone'})`);
          chunk[k]!.startedAt = startedAt;
        });
      }
      return probes.map(timesOf).filter((t): t is JobTimes => t !== undefined);
    },
    cleanup: async () => void (await queue.clear('completed')),
    async close() {
      await queue.close();
      await supervisor.stop();
    },
  };
}

async function bullConsumer(system: 'bullmq-inline' | 'bullmq-sandboxed', redisUrl: string, queueName: string): Promise<LatencyConsumer> {
  const url = new URL(redisUrl);
  const connection = { host: url.hostname, port: Number(url.port), maxRetriesPerRequest: null };
  const queue = new BullQueue(queueName, { connection });
  await queue.waitUntilReady();
  const inline = async (job: BullJob<ProbeData>) => (job.name === 'noop' ? null : { t: wallNow() });
  const worker =
    system === 'bullmq-inline'
      ? new BullWorker<ProbeData>(queueName, inline, { connection, concurrency: BULLMQ_INLINE_CONCURRENCY })
      : new BullWorker<ProbeData>(queueName, BULLMQ_PROCESSOR, { connection, concurrency: THREADS, useWorkerThreads: true });
  const done = new Completions();
  worker.on('completed', (job, result) => {
    const startedAt = startOf(result);
    done.add({ id: job.id ?? '', data: job.data, completedAt: wallNow(), ...(startedAt !== undefined ? { startedAt } : {}) });
  });
  worker.on('failed', (job, err) => done.fail(new Error(`${system}: job ${job?.id ?? '?'} failed: ${err.message}`)));
  worker.on('error', (err) => done.fail(err));
  await worker.waitUntilReady();
  return {
    system,
    producer: 'bullmq',
    queue: queueName,
    begin: () => done.begin(),
    waitFor: (n, timeoutMs) => done.waitFor(n, timeoutMs),
    stamps: () => done.stamps(),
    collect: async () => done.list.map(timesOf).filter((t): t is JobTimes => t !== undefined),
    cleanup: async () => void (await queue.clean(0, 0, 'completed')),
    async close() {
      await worker.close();
      await queue.close();
    },
  };
}

export function openConsumer(system: ConsumerSystem, redisUrl: string, queue: string): Promise<LatencyConsumer> {
  return system === 'troupe' ? troupeConsumer(redisUrl, queue) : bullConsumer(system, redisUrl, queue);
}
