/** Which configurations `troupe tune` measures, and the names it measures them under. */

import { randomBytes } from 'node:crypto';

export interface TunePoint {
  threads: number;
  tasksPerThread: number;
}

/** `2×4`: threads × tasks per thread, as table rows and chart ticks name a configuration. */
export function pointLabel(p: TunePoint): string {
  return `${p.threads}×${p.tasksPerThread}`;
}

/** 1, 2, 4, ... up to max, and max itself when it is not a power of two. */
export function taskSteps(max: number): number[] {
  const steps: number[] = [];
  for (let n = 1; n < max; n *= 2) steps.push(n);
  steps.push(max);
  return steps;
}

/** Threads 1..maxThreads, each with every tasks-per-thread step: cheapest first. */
export function sweep(maxThreads: number, maxTasksPerThread: number): TunePoint[] {
  const tasks = taskSteps(maxTasksPerThread);
  const points: TunePoint[] = [];
  for (let threads = 1; threads <= maxThreads; threads++) {
    for (const tasksPerThread of tasks) points.push({ threads, tasksPerThread });
  }
  return points;
}

/** Warm-up before each measurement window: a fifth of it, between 0.2 and 1 s (threads start, V8 optimises). */
export function warmupSeconds(seconds: number): number {
  return Math.min(1, Math.max(0.2, seconds / 5));
}

/** A queue name nothing else uses, that still says what it was for if it is ever left behind. */
export function tuneQueueName(processor: string): string {
  const readable = processor.replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 64);
  return `troupe-tune.${readable}.${Date.now().toString(36)}.${randomBytes(3).toString('hex')}`;
}

/** `./troupe-tune-<processor>.svg`, with the processor name made safe for a file name. */
export function defaultSvgPath(processor: string): string {
  return `troupe-tune-${processor.replace(/[^A-Za-z0-9_.-]/g, '-')}.svg`;
}

/** Before anything is measured: enough for ~0.2 s of tiny jobs; a dry run re-measures with more. */
const FIRST_PREFILL = 2000;
/** Head room over the estimate: the rate varies between runs by 10-40% on shared machines. */
const PREFILL_MARGIN = 1.3;
/** Start-up (threads loading the processors) consumes jobs before the warm-up starts. */
const STARTUP_ALLOWANCE_S = 1;

/**
 * How many jobs to queue before a configuration runs: its expected rate over start-up, warm-up
 * and window, with a margin, plus what the supervisor leases ahead. The rate is estimated from
 * configurations already measured, scaled by slots (threads x tasks) but at most doubled, since
 * adding slots rarely does more than that and over-filling only costs enqueue time (leftover
 * jobs serve the next configuration).
 */
export function prefillFor(point: TunePoint, measured: ReadonlyArray<TunePoint & { jobsPerSec: number }>, seconds: number, warmup: number): number {
  const slots = point.threads * point.tasksPerThread;
  const rate = Math.max(0, ...measured.map((r) => r.jobsPerSec * Math.min(2, slots / (r.threads * r.tasksPerThread))));
  const jobs = Math.ceil(rate * (STARTUP_ALLOWANCE_S + warmup + seconds) * PREFILL_MARGIN) + 2 * slots + 256;
  return measured.length === 0 ? Math.max(FIRST_PREFILL, jobs) : jobs;
}

/**
 * After a window cut short by an empty queue: the rate is at least what the window saw, and at
 * least the prefill consumed over warm-up and window (when it ran dry during warm-up).
 */
export function rateAfterDryRun(jobsPerSec: number, prefill: number, warmup: number, windowSeconds: number): number {
  return Math.max(jobsPerSec, prefill / (warmup + windowSeconds));
}
