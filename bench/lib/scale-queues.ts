/**
 * The scale bench's queue-count part: one compiled `troupe supervise` serving Q queues on a
 * private Redis. Per phase: warm-up jobs spread over the queues and drained, the queues paused,
 * `jobs` no-op jobs spread evenly over them, then the drain timed from resume until the events
 * streams show every job completed; then the supervisor left idle with empty queues, and its
 * CPU, Redis's CPU and Redis's commands read over an idle window. The supervisor's connections
 * are the CLIENT LIST entries that appeared after it started (the bench opens all of its own first).
 */
import { readdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { Queue } from '../../src/index.js';
import { commandStatsProbe, sumCounts, type CommandStats } from './commandstats.js';
import { readThreadCpuSeconds } from './e2e-phase.js';
import { TROUPE_RETENTION } from './e2e-producers.js';
import { redisCpuSeconds } from './env.js';
import { readCpuSeconds } from './rss-proc.js';
import { clientList, type RedisClientEntry } from './scale-redis.js';
import { CompletionReader, SupervisorProcess } from './scale-supervisor.js';

/** As the end-to-end bench runs Troupe. */
export const SUPERVISOR_THREADS = 2;
const ENQUEUE_BATCH = 128;
const WARM_TIMEOUT_MS = 60_000;
const DRAIN_TIMEOUT_MS = 180_000;
/** After the drain: acks flushed, timers that follow a busy spell run, before idle is measured. */
const SETTLE_MS = 2_000;

export interface QueuesConfig {
  /** Total jobs per drain, spread evenly over the queues. */
  jobs: number;
  /** Warm-up jobs per phase, spread the same way (at least one per queue). */
  warmJobs: number;
  idleMs: number;
}

export interface IdleWindow {
  seconds: number;
  /** Supervisor process CPU (all threads) over the window; undefined with no supervisor. */
  supervisorCpuSeconds?: number;
  redisCpuSeconds: number;
  counts: CommandStats;
}

export interface QueuesPhase {
  queues: number;
  jobs: number;
  enqueueSeconds: number;
  drainSeconds: number;
  supervisorCpuSeconds: number;
  mainThreadCpuSeconds: number;
  redisCpuSeconds: number;
  drainCounts: CommandStats;
  /** The supervisor's connections once it had drained its warm-up jobs, and at the end of idle. */
  connectionsWarm: RedisClientEntry[];
  connectionsIdle: RedisClientEntry[];
  idle: IdleWindow;
}

export interface QueuesContext {
  admin: Redis;
  redisUrl: string;
  cliEntry: string;
  cwd: string;
}

/** `jobs` spread over `queues`: every queue gets floor(jobs / queues), the first few one more. */
export function spread(jobs: number, queues: number): number[] {
  return Array.from({ length: queues }, (_, k) => Math.floor(jobs / queues) + (k < jobs % queues ? 1 : 0));
}

async function enqueueSpread(queues: ReadonlyArray<Queue<{ n: number }>>, jobs: number): Promise<void> {
  const shares = spread(jobs, queues.length);
  await Promise.all(
    queues.map(async (queue, k) => {
      for (let start = 0; start < shares[k]!; start += ENQUEUE_BATCH) {
        const size = Math.min(ENQUEUE_BATCH, shares[k]! - start);
        await queue.enqueueMany(Array.from({ length: size }, (_, i) => ({ processor: 'noop', data: { n: start + i } })));
      }
    }),
  );
}

async function totals(queues: ReadonlyArray<Queue<{ n: number }>>): Promise<{ open: number; left: string[] }> {
  let open = 0;
  const left: string[] = [];
  for (const queue of queues) {
    const c = await queue.counts();
    open += c.pending + c.active + c.delayed;
    if (c.pending + c.active + c.delayed + c.dead + c.completed > 0) left.push(`${queue.name}: pending ${c.pending}, active ${c.active}, delayed ${c.delayed}, dead ${c.dead}, completed ${c.completed}`);
  }
  return { open, left };
}

/**
 * CPU seconds of every thread a process has now, from each thread's schedstat (nanoseconds):
 * /proc/<pid>/stat counts in 10 ms ticks, too coarse for an idle window. A thread that ended
 * during the window takes its time with it, so this is for windows without thread churn.
 */
export function readAllThreadsCpuSeconds(pid: number): number {
  return readdirSync(`/proc/${pid}/task`).reduce((total, tid) => total + readThreadCpuSeconds(pid, Number(tid)), 0);
}

/** Redis (and the supervisor, when given) over an idle window in which the bench sends nothing but the probe's INFO. */
export async function idleWindow(admin: Redis, ms: number, supervisorPid?: number): Promise<IdleWindow> {
  const probe = commandStatsProbe(admin);
  await probe.start();
  const redisBefore = await redisCpuSeconds(admin);
  const cpuBefore = supervisorPid === undefined ? 0 : readAllThreadsCpuSeconds(supervisorPid);
  const started = performance.now();
  // A timer may fire a fraction of a millisecond early by performance.now(): the window is at least `ms`.
  while (performance.now() - started < ms) await sleep(Math.max(1, Math.ceil(ms - (performance.now() - started))));
  const seconds = (performance.now() - started) / 1000;
  const supervisorCpuSeconds = supervisorPid === undefined ? undefined : readAllThreadsCpuSeconds(supervisorPid) - cpuBefore;
  const redisCpu = (await redisCpuSeconds(admin)) - redisBefore;
  const counts = await probe.stop();
  return { seconds, ...(supervisorCpuSeconds === undefined ? {} : { supervisorCpuSeconds }), redisCpuSeconds: redisCpu, counts };
}

export function commandsPerSecond(window: IdleWindow): number {
  return sumCounts(window.counts.calls) / window.seconds;
}

function newClients(before: ReadonlySet<string>, now: readonly RedisClientEntry[]): RedisClientEntry[] {
  return now.filter((c) => !before.has(c.id));
}

export async function runQueuesPhase(ctx: QueuesContext, queueCount: number, tag: string, config: QueuesConfig): Promise<QueuesPhase> {
  // Every phase starts from an empty keyspace; names differ per phase so nothing carries over.
  await ctx.admin.flushall();
  const names = Array.from({ length: queueCount }, (_, k) => `scale-${tag}-q${k + 1}`);
  // Every connection of the bench's own is opened before the supervisor starts, so those that
  // appear afterwards are the supervisor's.
  const client = new Redis(ctx.redisUrl);
  await client.ping();
  const queues = names.map((name) => new Queue<{ n: number }>(name, { connection: client, defaultJobOptions: TROUPE_RETENTION }));
  const reader = await CompletionReader.open(ctx.redisUrl, names);
  let supervisor: SupervisorProcess | undefined;
  try {
    const warmJobs = Math.max(config.warmJobs, queueCount);
    await enqueueSpread(queues, warmJobs);
    const before = new Set((await clientList(ctx.admin)).map((c) => c.id));
    supervisor = SupervisorProcess.start(ctx.cliEntry, ctx.redisUrl, names, SUPERVISOR_THREADS, ctx.cwd);
    const deadline = Date.now() + WARM_TIMEOUT_MS;
    while ((await totals(queues)).open > 0) {
      supervisor.assertRunning('while running its warm-up jobs');
      if (Date.now() > deadline) throw new Error(`${queueCount} queues: warm-up jobs not drained within ${WARM_TIMEOUT_MS} ms`);
      await sleep(50);
    }
    const connectionsWarm = newClients(before, await clientList(ctx.admin));

    for (const queue of queues) await queue.pause();
    const enqueueStart = performance.now();
    await enqueueSpread(queues, config.jobs);
    const enqueueSeconds = (performance.now() - enqueueStart) / 1000;
    await reader.mark();

    const pid = supervisor.pid;
    const probe = commandStatsProbe(ctx.admin);
    const cpuBefore = readCpuSeconds(pid);
    const mainBefore = readThreadCpuSeconds(pid);
    const redisBefore = await redisCpuSeconds(ctx.admin);
    await probe.start();
    const drainStart = performance.now();
    await Promise.all(queues.map((q) => q.resume()));
    const running = supervisor;
    await reader.waitFor(config.jobs, DRAIN_TIMEOUT_MS, () => running.assertRunning('during the drain'));
    const drainSeconds = (performance.now() - drainStart) / 1000;
    const drainCounts = await probe.stop();
    const redisCpu = (await redisCpuSeconds(ctx.admin)) - redisBefore;
    const supervisorCpuSeconds = readCpuSeconds(pid) - cpuBefore;
    const mainThreadCpuSeconds = readThreadCpuSeconds(pid) - mainBefore;

    const { left } = await totals(queues);
    if (left.length > 0) throw new Error(`${queueCount} queues not drained: ${left.slice(0, 3).join('; ')}`);
    await sleep(SETTLE_MS);
    const idle = await idleWindow(ctx.admin, config.idleMs, pid);
    supervisor.assertRunning('while idle');
    const connectionsIdle = newClients(before, await clientList(ctx.admin));
    return {
      queues: queueCount,
      jobs: config.jobs,
      enqueueSeconds,
      drainSeconds,
      supervisorCpuSeconds,
      mainThreadCpuSeconds,
      redisCpuSeconds: redisCpu,
      drainCounts,
      connectionsWarm,
      connectionsIdle,
      idle,
    };
  } finally {
    await supervisor?.stop();
    await reader.close();
    await Promise.all(queues.map((q) => q.close()));
    await client.quit().catch(() => client.disconnect()); // Quit fails if the server died; then drop the socket.
  }
}
