import BeeQueue from 'bee-queue';
import { Queue as BullQueue, Worker as BullWorker } from 'bullmq';
import { Redis } from 'ioredis';
import { Queue, QueueConsumer } from '../../src/index.js';

export type System = 'troupe' | 'bullmq' | 'bee-queue';

export interface Target {
  url: string;
  host: string;
  port: number;
}

export interface WorkloadSpec {
  kind: 'enqueue' | 'drain';
  system: System;
  batch: number;
  /** Concurrent consumers (drain only). */
  consumers: number;
}

/**
 * One measured phase against one system: prepare() (untimed: pre-fill), run() (timed), verify()
 * (untimed: the work really happened), close(). Connections are opened and made ready before
 * prepare(), so connecting never lands inside the timed window.
 */
export interface Workload {
  prepare(): Promise<void>;
  run(): Promise<void>;
  verify(): Promise<void>;
  close(): Promise<void>;
}

interface Payload {
  n: number;
}

const PROCESSOR = 'noop';
const LEASE_MS = 30_000;
const PREFILL_BATCH = 1000;

function* chunks(total: number, size: number): Generator<number[]> {
  for (let start = 0; start < total; start += size) {
    yield Array.from({ length: Math.min(size, total - start) }, (_, k) => start + k);
  }
}

function expectEqual(what: string, actual: number, expected: number): void {
  if (actual !== expected) throw new Error(`${what}: expected ${expected}, got ${actual}`);
}

async function readyClient(url: string): Promise<Redis> {
  const client = new Redis(url);
  await client.ping();
  return client;
}

async function troupeFill(queue: Queue<Payload>, jobs: number): Promise<void> {
  for (const ns of chunks(jobs, PREFILL_BATCH)) await queue.enqueueMany(ns.map((n) => ({ processor: PROCESSOR, data: { n } })));
}

async function troupeConsume(consumer: QueueConsumer, owner: string, batch: number): Promise<number> {
  let done = 0;
  for (;;) {
    const { jobs } = await consumer.lease<Payload>(owner, batch, LEASE_MS);
    if (jobs.length === 0) return done;
    const lost = await consumer.complete(jobs.map((job) => ({ lease: job.lease, result: null })));
    if (lost.length > 0) throw new Error(`troupe: ${lost.length} leases lost mid-bench (${lost[0]})`);
    done += jobs.length;
  }
}

async function troupe(spec: WorkloadSpec, target: Target, name: string, jobs: number): Promise<Workload> {
  // Our own clients (shared with Troupe, which then leaves them to us) so they are ready up front.
  const clients = await Promise.all(Array.from({ length: spec.kind === 'drain' ? spec.consumers + 1 : 1 }, () => readyClient(target.url)));
  const queue = new Queue<Payload>(name, { connection: clients[0]! });
  const consumers = clients.slice(1).map((client) => new QueueConsumer(name, { connection: client }));
  let completed = 0;
  const close = async () => {
    await Promise.all([queue.close(), ...consumers.map((c) => c.close())]);
    await Promise.all(clients.map((c) => c.quit()));
  };
  if (spec.kind === 'enqueue') {
    return {
      prepare: async () => {},
      run: async () => {
        for (const ns of chunks(jobs, spec.batch)) {
          if (spec.batch === 1) await queue.enqueue(PROCESSOR, { n: ns[0]! });
          else await queue.enqueueMany(ns.map((n) => ({ processor: PROCESSOR, data: { n } })));
        }
      },
      verify: async () => expectEqual('troupe pending', (await queue.counts()).pending, jobs),
      close,
    };
  }
  return {
    prepare: () => troupeFill(queue, jobs),
    run: async () => {
      const counts = await Promise.all(consumers.map((c, k) => troupeConsume(c, `bench-${k}`, spec.batch)));
      completed = counts.reduce((a, b) => a + b, 0);
    },
    verify: async () => {
      expectEqual('troupe jobs completed', completed, jobs);
      const counts = await queue.counts();
      expectEqual('troupe pending after drain', counts.pending, 0);
      expectEqual('troupe active after drain', counts.active, 0);
    },
    close,
  };
}

async function bullConsume(worker: BullWorker<Payload, null>, k: number): Promise<number> {
  let done = 0;
  for (let i = 0; ; i++) {
    // One token per job, as BullMQ's own worker loop does.
    const token = `bench-${k}-${i}`;
    const job = await worker.getNextJob(token, { block: false });
    if (!job) return done;
    // fetchNext=false: the next job comes from getNextJob, keeping one lease and one complete per job.
    await job.moveToCompleted(null, token, false);
    done += 1;
  }
}

async function bullmq(spec: WorkloadSpec, target: Target, name: string, jobs: number): Promise<Workload> {
  const connection = { host: target.host, port: target.port };
  const queue = new BullQueue<Payload, null>(name, { connection });
  await queue.waitUntilReady();
  const workers: Array<BullWorker<Payload, null>> = [];
  const errors: Error[] = [];
  const close = async () => {
    await Promise.all(workers.map((w) => w.close()));
    await queue.close();
  };
  if (spec.kind === 'enqueue') {
    return {
      prepare: async () => {},
      run: async () => {
        for (const ns of chunks(jobs, spec.batch)) {
          if (spec.batch === 1) await queue.add(PROCESSOR, { n: ns[0]! });
          else await queue.addBulk(ns.map((n) => ({ name: PROCESSOR, data: { n } })));
        }
      },
      verify: async () => expectEqual('bullmq waiting', await queue.getWaitingCount(), jobs),
      close,
    };
  }
  for (let k = 0; k < spec.consumers; k++) {
    // autorun: false gives the manual-processing API: no main loop, stalled checker or lock renewal.
    const worker = new BullWorker<Payload, null>(name, null, { connection, autorun: false });
    worker.on('error', (err) => errors.push(err));
    workers.push(worker);
  }
  await Promise.all(workers.map((w) => w.waitUntilReady()));
  let completed = 0;
  return {
    prepare: async () => {
      for (const ns of chunks(jobs, PREFILL_BATCH)) await queue.addBulk(ns.map((n) => ({ name: PROCESSOR, data: { n } })));
    },
    run: async () => {
      const counts = await Promise.all(workers.map((w, k) => bullConsume(w, k)));
      completed = counts.reduce((a, b) => a + b, 0);
    },
    verify: async () => {
      if (errors.length > 0) throw errors[0]!;
      expectEqual('bullmq jobs completed', completed, jobs);
      const counts = await queue.getJobCounts('completed', 'active', 'wait', 'failed');
      expectEqual('bullmq completed', counts.completed ?? -1, jobs);
      expectEqual('bullmq active after drain', counts.active ?? -1, 0);
      expectEqual('bullmq waiting after drain', counts.wait ?? -1, 0);
      expectEqual('bullmq failed', counts.failed ?? -1, 0);
    },
    close,
  };
}

async function beeQueue(spec: WorkloadSpec, target: Target, name: string, jobs: number): Promise<Workload> {
  if (spec.kind !== 'enqueue') throw new Error('bee-queue has no manual lease API; only its enqueue path is benchmarked');
  // A producer only: no worker connection, no pub/sub, and no in-process map of every job saved.
  const queue = new BeeQueue<Payload>(name, {
    redis: { host: target.host, port: target.port },
    isWorker: false,
    getEvents: false,
    sendEvents: false,
    storeJobs: false,
  });
  await queue.ready();
  return {
    prepare: async () => {},
    run: async () => {
      for (const ns of chunks(jobs, spec.batch)) {
        if (spec.batch === 1) {
          await queue.createJob({ n: ns[0]! }).save();
        } else {
          const failed = await queue.saveAll(ns.map((n) => queue.createJob({ n })));
          if (failed.size > 0) throw [...failed.values()][0]!;
        }
      }
    },
    verify: async () => expectEqual('bee-queue waiting', (await queue.checkHealth()).waiting, jobs),
    close: () => queue.close(),
  };
}

export function openWorkload(spec: WorkloadSpec, target: Target, queueName: string, jobs: number): Promise<Workload> {
  switch (spec.system) {
    case 'troupe':
      return troupe(spec, target, queueName, jobs);
    case 'bullmq':
      return bullmq(spec, target, queueName, jobs);
    case 'bee-queue':
      return beeQueue(spec, target, queueName, jobs);
  }
}
