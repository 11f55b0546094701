import type { Histogram } from 'hdr-histogram-js';
import { newHistogram, summarize, toMicros } from '../metrics/latency.js';
import type { JobSpec } from '../queue/job-args.js';
import type { Queue } from '../queue/queue.js';
import { CodedError, type CodedErrorOptions } from '../errors.js';
import type { SupervisorConfig } from '../supervisor/config.js';
import type { RunEnd, SupervisorEventMap } from '../supervisor/events.js';
import type { Logger } from '../supervisor/logger.js';
import type { ProcessorTable } from '../supervisor/processor-table.js';
import { buildSupervisor } from '../runtime/build-supervisor.js';
import type { Supervisor } from '../supervisor/supervisor.js';
import { Feeder } from './feeder.js';
import type { TuneRow } from './knee.js';
import type { TunePoint } from './plan.js';

/** What one configuration did, beyond the row the knee rule reads. */
export interface Measurement extends TuneRow {
  /** The thread's own run time per job (ms), without waiting for a slot. */
  runP50Ms: number;
  runP99Ms: number;
  /** The measurement window as it really lasted. */
  windowSeconds: number;
  /** The queue ran dry, so the window ended early (its figures stand, over a shorter time). */
  ranDry: boolean;
  /** The sample was too big to queue enough copies up front, so the queue was topped up during the window. */
  toppedUp: boolean;
}

/** Runs that count against a configuration; 'interrupted' and 'shutdown' are other jobs' or our own doing. */
const FAILED_ENDS: ReadonlySet<RunEnd> = new Set(['failed', 'timeout', 'crash', 'resource']);

/**
 * Counts completions and latencies inside the window, and failures at any time (a
 * configuration whose warm-up broke a job is not one to recommend).
 */
class Recorder {
  readonly latency: Histogram = newHistogram();
  readonly run: Histogram = newHistogram();
  completed = 0;
  failed = 0;
  recording = false;
  hasRun = false;
  private markFirstRun: (() => void) | undefined;
  /** Settles when the first job's run ends: the threads have started and loaded the processors. */
  readonly firstRun = new Promise<void>((resolve) => (this.markFirstRun = resolve));

  readonly onRan = ({ job, end, runMs, at }: SupervisorEventMap['ran'][0]): void => {
    this.hasRun = true;
    this.markFirstRun?.();
    if (FAILED_ENDS.has(end)) this.failed += 1;
    if (!this.recording || end !== 'completed') return;
    this.completed += 1;
    // Lease to result: the slot wait that more tasks per thread or more threads than cores add.
    this.latency.recordValue(toMicros(at - job.leasedAt));
    if (runMs !== undefined) this.run.recordValue(toMicros(runMs));
  };
}

export interface MeasureContext {
  /** The user's settings, already pointing at the Redis and queue to use. */
  base: SupervisorConfig;
  processors: ProcessorTable;
  logger: Logger;
  queue: Queue;
  job: JobSpec;
  payloadBytes: number;
  /** Copies of the sample to have pending before the supervisor starts: the whole run's worth. */
  prefill: number;
  warmupMs: number;
  windowMs: number;
  signal: AbortSignal;
}

/** How often the window checks whether the queue ran dry. */
const DRY_CHECK_MS = 50;
/**
 * Longest a stop waits for running jobs. Nothing after the window is measured, so a long job
 * need not be waited for; jobs cut off are released or failed, and never counted as failures.
 */
const TUNE_SHUTDOWN_MS = 5000;
/** Past the shutdown deadline, this long again before a stop counts as stuck. */
const STOP_GRACE_MS = 10_000;

/** A supervisor that did not stop: its threads or Redis are wedged, and this process cannot exit cleanly. */
export const TuneErrorCode = { SupervisorStuck: 'TUNE_SUPERVISOR_STUCK' } as const;

export class SupervisorStuckError extends CodedError<typeof TuneErrorCode.SupervisorStuck> {
  override name = 'SupervisorStuckError';
  constructor(message: string, options?: CodedErrorOptions) {
    super(TuneErrorCode.SupervisorStuck, message, options);
  }
}

const START_HINT = 'its threads are probably failing to start: run troupe supervise with the same settings and --log-level debug to see why';

async function stopWithin(supervisor: Supervisor, ms: number, anyJobRan: boolean): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    const what = `a supervisor did not stop within ${Math.round(ms / 1000)} s`;
    timer = setTimeout(() => reject(new SupervisorStuckError(anyJobRan ? `${what} (see the log lines above)` : `no job finished, and ${what}; ${START_HINT}`)), ms);
  });
  try {
    await Promise.race([supervisor.stop(), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Longest wait for the first job to finish: thread start-up (seconds when run from source under
 * tsx) plus a slow first job. Past it the configuration fails with an error naming both causes,
 * instead of hanging on a processor that never returns.
 */
export function startupCapMs(windowMs: number): number {
  return Math.max(30_000, 10 * windowMs);
}

/** Resolves when `until` settles or after ms, whichever is first; rejects when the run is aborted. */
function wait(ms: number, signal: AbortSignal, until?: Promise<void>): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const finish = (outcome: () => void) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      outcome();
    };
    const onAbort = () => finish(() => reject(signal.reason));
    const timer = setTimeout(() => finish(resolve), ms);
    signal.addEventListener('abort', onAbort, { once: true });
    until?.then(() => finish(resolve));
  });
}

/**
 * One configuration: a fresh in-process supervisor (threads and tasks per thread are fixed when
 * its pool is built), on a queue filled beforehand, warmed up, then measured for a fixed window.
 * The window ends early if the queue runs dry, so an empty queue never counts as slowness.
 * The supervisor runs no services: no HTTP port, no scheduler, no metrics written to Redis.
 */
export async function measure(point: TunePoint, ctx: MeasureContext): Promise<Measurement> {
  const slots = point.threads * point.tasksPerThread;
  const config: SupervisorConfig = {
    ...ctx.base,
    threads: point.threads,
    minThreads: point.threads,
    tasksPerThread: point.tasksPerThread,
    shutdownTimeoutMs: Math.min(ctx.base.shutdownTimeoutMs, TUNE_SHUTDOWN_MS),
  };
  // Every slot and its prefetch need a job, whatever the bytes.
  const feeder = new Feeder(ctx.queue, ctx.job, ctx.payloadBytes, 2 * slots + 8, ctx.signal);
  const toppedUp = ctx.prefill > feeder.cap;
  await feeder.fill(ctx.prefill);
  const supervisor = await buildSupervisor(config, { logger: ctx.logger, processors: ctx.processors, services: [] });
  const recorder = new Recorder();
  supervisor.events.on('ran', recorder.onRan);
  let started = false;
  let windowMs = 0;
  let ranDry = false;
  try {
    if (toppedUp) feeder.startTopUp();
    await supervisor.start();
    started = true;
    // Warm-up counts from the first finished job, not from start(): starting the threads takes
    // from a few hundred ms to seconds, and a window that includes it measures start-up.
    const cap = startupCapMs(ctx.windowMs);
    await wait(cap, ctx.signal, recorder.firstRun);
    if (!recorder.hasRun) {
      throw new Error(
        `no job finished within ${cap / 1000} s of starting ${point.threads} thread(s): either one job takes longer than that ` +
          `(tune waits 10 × --seconds, at least 30 s, for the first one: raise --seconds), or ${START_HINT}`,
      );
    }
    await wait(ctx.warmupMs, ctx.signal);
    const t0 = performance.now();
    recorder.recording = true;
    while (performance.now() - t0 < ctx.windowMs) {
      await wait(Math.min(DRY_CHECK_MS, ctx.windowMs - (performance.now() - t0)), ctx.signal);
      if ((await feeder.pending()) === 0) {
        ranDry = true;
        break;
      }
    }
    recorder.recording = false;
    windowMs = performance.now() - t0;
  } finally {
    await feeder.stop();
    // The pool's threads exist from construction, so a failed start still needs a stop.
    supervisor.events.off('ran', recorder.onRan);
    const stopping = stopWithin(supervisor, config.shutdownTimeoutMs + STOP_GRACE_MS, recorder.hasRun);
    if (started) await stopping;
    else await stopping.catch((err: unknown) => ctx.logger.warn({ err }, 'stopping a supervisor that failed to start failed too'));
  }
  if (feeder.error) throw new Error(`enqueueing sample jobs failed: ${feeder.error instanceof Error ? feeder.error.message : String(feeder.error)}`, { cause: feeder.error });
  const latency = summarize(recorder.latency);
  const run = summarize(recorder.run);
  return {
    ...point,
    completed: recorder.completed,
    failed: recorder.failed,
    jobsPerSec: windowMs > 0 ? (recorder.completed * 1000) / windowMs : 0,
    p50Ms: latency.p50,
    p99Ms: latency.p99,
    runP50Ms: run.p50,
    runP99Ms: run.p99,
    windowSeconds: windowMs / 1000,
    ranDry,
    toppedUp,
  };
}
