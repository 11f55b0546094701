/**
 * One end-to-end phase against one system: fill, start its consumer in a child process, let it
 * warm up and pause, enqueue the measured jobs, then time the drain from resume to the last job
 * finished in Redis, measuring the consumer's CPU and RSS and Redis's commands and CPU meanwhile.
 */
import type { Redis } from 'ioredis';
import type { Probe } from './commandstats.js';
import type { BenchBuild } from './e2e-build.js';
import { redisCpuSeconds } from './env.js';
import { ConsumerProcess } from './e2e-host.js';
import { openProducer } from './e2e-producers.js';
import type { ConsumerKind } from './e2e-protocol.js';
import { readFileSync } from 'node:fs';
import { clockTicksPerSecond, parseProcStatCpu, readCpuSeconds, readProcStatus, resetPeak, RssSampler } from './rss-proc.js';

/** Warm-up jobs each consumer runs before it pauses: loads scripts into Redis, starts threads, warms the JIT. */
export const WARM_JOBS = 1000;

export interface SystemUnderTest {
  id: string;
  label: string;
  /** For chart axes, where groups are narrow. */
  short: string;
  kind: ConsumerKind;
  concurrency: number;
}

export interface PhaseResult<T> {
  enqueueSeconds: number;
  drainSeconds: number;
  /** Consumer process CPU (all its threads) during the drain. */
  consumerCpuSeconds: number;
  /**
   * The consumer's main thread alone during the drain: for Troupe the supervisor (lease loop,
   * dispatch, acks, its share of GC), for the peers their event loop. The rest of
   * consumerCpuSeconds is the job threads, libuv's pool and V8's helper threads.
   */
  mainThreadCpuSeconds: number;
  redisCpuSeconds: number;
  /** RSS when ready (warm, paused, before the measured jobs were enqueued), KiB. */
  readyRssKb: number;
  /** Peak RSS during enqueue and drain (VmHWM after a reset, or 100 ms samples), KiB. */
  peakRssKb: number;
  osThreads: number;
  counts: T;
}

/**
 * CPU seconds one thread of a process has used: /proc/<pid>/task/<tid>/schedstat (nanoseconds on
 * CPU) where the kernel keeps it, else that thread's stat utime + stime (clock ticks). The main
 * thread's tid is the pid.
 */
export function readThreadCpuSeconds(pid: number, tid = pid): number {
  try {
    const ns = Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    if (Number.isFinite(ns)) return ns / 1e9;
  } catch {
    // No schedstat (a kernel without CONFIG_SCHED_INFO): fall back to the tick counts below.
  }
  const { user, system } = parseProcStatCpu(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8'));
  return (user + system) / clockTicksPerSecond();
}

export interface PhaseContext {
  admin: Redis;
  redisUrl: string;
  build: BenchBuild;
}

export async function runPhase<T>(ctx: PhaseContext, system: SystemUnderTest, queue: string, jobs: number, probe: Probe<T>): Promise<PhaseResult<T>> {
  // Every phase starts from an empty keyspace, so one system's leftovers cannot slow the next.
  await ctx.admin.flushall();
  const producer = openProducer(system.kind, ctx.redisUrl, queue);
  let consumer: ConsumerProcess | undefined;
  let sampler: RssSampler | undefined;
  try {
    await producer.enqueue(WARM_JOBS);
    consumer = await ConsumerProcess.start(ctx.build.childEntry, {
      kind: system.kind,
      redisUrl: ctx.redisUrl,
      queue,
      concurrency: system.concurrency,
      warmJobs: WARM_JOBS,
      processorFile: ctx.build.processorFile,
    });
    const pid = consumer.pid;
    const readyRssKb = readProcStatus(pid).rssKb;
    const peakReset = resetPeak(pid);
    sampler = new RssSampler(pid);
    sampler.start();

    const enqueueStart = performance.now();
    await producer.enqueue(jobs);
    const enqueueSeconds = (performance.now() - enqueueStart) / 1000;

    const cpuBefore = readCpuSeconds(pid);
    const mainBefore = readThreadCpuSeconds(pid);
    const redisBefore = await redisCpuSeconds(ctx.admin);
    await probe.start();
    const drainStart = performance.now();
    await consumer.drain(jobs);
    const drainSeconds = (performance.now() - drainStart) / 1000;
    const counts = await probe.stop();
    const redisAfter = await redisCpuSeconds(ctx.admin);
    const consumerCpuSeconds = readCpuSeconds(pid) - cpuBefore;
    const mainThreadCpuSeconds = readThreadCpuSeconds(pid) - mainBefore;
    const status = readProcStatus(pid);
    const sampled = sampler.stop();

    await producer.verifyDrained();
    await consumer.stop();
    return {
      enqueueSeconds,
      drainSeconds,
      consumerCpuSeconds,
      mainThreadCpuSeconds,
      redisCpuSeconds: redisAfter - redisBefore,
      readyRssKb,
      peakRssKb: Math.max(sampled.peakKb, peakReset ? status.hwmKb : 0),
      osThreads: status.threads,
      counts,
    };
  } finally {
    sampler?.stop();
    consumer?.kill();
    await producer.close();
  }
}
