/**
 * One phase of the cluster bench against one Redis target (a standalone server, or the masters
 * and replicas of a cluster): FLUSHALL on every master, warm-up jobs on every queue, a Troupe
 * supervisor in a child process (e2e-child, one supervisor leasing from every queue), pause,
 * enqueue the measured jobs, then time the drain from resume to the last job finished in Redis,
 * reading each node's INFO cpu and each master's INFO commandstats around it.
 */
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { Queue } from '../../src/queue/index.js';
import { addCounts, commandStatsProbe, sumCounts, type CommandCounts, type CommandStats, type Probe } from './commandstats.js';
import { cpuShares, parseProcStatTotals, type CpuTotals } from './cluster-split.js';
import type { BenchBuild } from './e2e-build.js';
import { ConsumerProcess } from './e2e-host.js';
import { ENQUEUE_BATCH, TROUPE_RETENTION } from './e2e-producers.js';
import { redisCpuSeconds } from './env.js';
import { readCpuSeconds } from './rss-proc.js';

export interface NodeAdmin {
  /** "master 1 :15001", "replica of master 1 :15004", "standalone :40123". */
  label: string;
  role: 'master' | 'replica';
  port: number;
  /** A plain (non-cluster) client to this one node, for INFO, CONFIG RESETSTAT and FLUSHALL. */
  client: Redis;
  /** Index into the target's masters: the node itself for a master, the one it replicates for a replica. */
  master: number;
}

export interface RedisTarget {
  id: 'standalone' | 'cluster';
  url: string;
  masters: NodeAdmin[];
  replicas: NodeAdmin[];
  /** Per queue (in the bench's queue order), the index of the master that holds it. */
  queueMaster: number[];
}

export type Workload = 'tiny' | 'cpu';

export interface PhaseSpec {
  workload: Workload;
  /** Measured jobs, split evenly over the queues (a multiple of their count). */
  jobs: number;
  warmJobs: number;
  /** Supervisor --redis-wait-replicas and the producer's durability.replicas; 0 = off. */
  waitReplicas: number;
  /** Worker threads of the supervisor. */
  threads: number;
}

export interface PhaseResult {
  enqueueSeconds: number;
  drainSeconds: number;
  /** The supervisor process (all its threads) over the drain. */
  consumerCpuSeconds: number;
  /** INFO cpu used_cpu_user + used_cpu_sys over the drain, masters first then replicas (the target's order). */
  nodeCpuSeconds: number[];
  /** Every command each master executed over the drain (INFO commandstats after CONFIG RESETSTAT). */
  masterCalls: number[];
  /** Of those, WAIT calls (durability). */
  masterWaitCalls: number[];
  /** Calls per command name over the drain, summed over the masters. */
  commands: CommandCounts;
  /** WAIT calls on the masters while the measured jobs were enqueued (the producer's durability). */
  enqueueWaitCalls: number;
  /** Jobs each master's queues held. */
  masterJobs: number[];
  /** The share of the whole machine's CPU time that was busy over the drain (/proc/stat, steal apart). */
  machineBusy: number;
  /** The share the hypervisor took (steal): outside load on the host, which no bench here controls. */
  machineSteal: number;
}

export const CPU_JOB_MS = 5;
/** The producer's durability with WAIT on: what --redis-wait-timeout-ms defaults to for the supervisor. */
export const WAIT_TIMEOUT_MS = 1_000;

interface JobData {
  n: number;
  ms?: number;
}

function job(workload: Workload, n: number): { processor: string; data: JobData } {
  return workload === 'tiny' ? { processor: 'noop', data: { n } } : { processor: 'cpu', data: { n, ms: CPU_JOB_MS } };
}

function readMachineCpu(): CpuTotals {
  return parseProcStatTotals(readFileSync('/proc/stat', 'utf8'));
}

export function allNodes(target: RedisTarget): NodeAdmin[] {
  return [...target.masters, ...target.replicas];
}

async function enqueue(queues: Array<Queue<JobData>>, workload: Workload, perQueue: number): Promise<void> {
  // The queues fill side by side, each with sequential batches, as one producer per queue would.
  await Promise.all(
    queues.map(async (queue) => {
      for (let start = 0; start < perQueue; start += ENQUEUE_BATCH) {
        const size = Math.min(ENQUEUE_BATCH, perQueue - start);
        await queue.enqueueMany(Array.from({ length: size }, (_, k) => job(workload, start + k)));
      }
    }),
  );
}

async function verifyDrained(queues: Array<Queue<JobData>>): Promise<void> {
  for (const queue of queues) {
    const c = await queue.counts();
    const left = Object.entries({ pending: c.pending, active: c.active, delayed: c.delayed, dead: c.dead, completed: c.completed }).filter(([, n]) => n !== 0);
    if (left.length > 0) throw new Error(`queue ${queue.name} not drained: ${left.map(([k, n]) => `${k}=${n}`).join(', ')}`);
  }
}

function machine(shares: { busy: number; steal: number }): Pick<PhaseResult, 'machineBusy' | 'machineSteal'> {
  return { machineBusy: shares.busy, machineSteal: shares.steal };
}

function merged(stats: readonly CommandStats[]): CommandCounts {
  const into: CommandCounts = new Map();
  for (const s of stats) for (const [name, n] of s.calls) addCounts(into, name, n);
  return into;
}

function spread(total: number, parts: number, what: string): number {
  if (total % parts !== 0) throw new Error(`${what}: ${total} does not split evenly over ${parts} queues`);
  return total / parts;
}

export async function runClusterPhase(build: BenchBuild, target: RedisTarget, queueNames: readonly string[], spec: PhaseSpec): Promise<PhaseResult> {
  // Every phase starts from an empty keyspace on every master (replicas follow), as end-to-end does.
  await Promise.all(target.masters.map((m) => m.client.flushall()));
  const durability = spec.waitReplicas > 0 ? { durability: { replicas: spec.waitReplicas, timeoutMs: WAIT_TIMEOUT_MS } } : {};
  const queues = queueNames.map((name) => new Queue<JobData>(name, { connection: target.url, defaultJobOptions: TROUPE_RETENTION, ...durability }));
  let consumer: ConsumerProcess | undefined;
  try {
    const warmPerQueue = spread(spec.warmJobs, queues.length, 'warm-up jobs');
    const perQueue = spread(spec.jobs, queues.length, 'jobs');
    await enqueue(queues, spec.workload, warmPerQueue);
    consumer = await ConsumerProcess.start(build.childEntry, {
      kind: 'troupe',
      redisUrl: target.url,
      queue: queueNames[0]!,
      queues: [...queueNames],
      concurrency: spec.threads,
      warmJobs: spec.warmJobs,
      processorFile: build.processorFile,
      waitReplicas: spec.waitReplicas,
    });

    const probes: Array<Probe<CommandStats>> = target.masters.map((m) => commandStatsProbe(m.client));
    // Commandstats over the enqueue too, only to check that the producer's WAITs happened.
    await Promise.all(probes.map((p) => p.start()));
    const enqueueStart = performance.now();
    await enqueue(queues, spec.workload, perQueue);
    const enqueueSeconds = (performance.now() - enqueueStart) / 1000;
    const enqueueStats = await Promise.all(probes.map((p) => p.stop()));

    const nodes = allNodes(target);
    const pid = consumer.pid;
    const consumerBefore = readCpuSeconds(pid);
    const redisBefore = await Promise.all(nodes.map((n) => redisCpuSeconds(n.client)));
    await Promise.all(probes.map((p) => p.start()));
    const machineBefore = readMachineCpu();
    const drainStart = performance.now();
    await consumer.drain(spec.jobs);
    const drainSeconds = (performance.now() - drainStart) / 1000;
    const machineAfter = readMachineCpu();
    const consumerCpuSeconds = readCpuSeconds(pid) - consumerBefore;
    const stats = await Promise.all(probes.map((p) => p.stop()));
    const redisAfter = await Promise.all(nodes.map((n) => redisCpuSeconds(n.client)));

    await verifyDrained(queues);
    await consumer.stop();
    const masterJobs = target.masters.map((_, i) => target.queueMaster.filter((m) => m === i).length * perQueue);
    return {
      enqueueSeconds,
      drainSeconds,
      consumerCpuSeconds,
      nodeCpuSeconds: redisAfter.map((after, i) => after - redisBefore[i]!),
      masterCalls: stats.map((s) => sumCounts(s.calls)),
      masterWaitCalls: stats.map((s) => s.calls.get('wait') ?? 0),
      commands: merged(stats),
      enqueueWaitCalls: enqueueStats.reduce((n, s) => n + (s.calls.get('wait') ?? 0), 0),
      masterJobs,
      ...machine(cpuShares(machineBefore, machineAfter)),
    };
  } finally {
    consumer?.kill();
    await Promise.all(queues.map((q) => q.close()));
  }
}
