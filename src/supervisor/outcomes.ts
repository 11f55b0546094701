/**
 * Every way a thread task can end, turned into one ack per job. The dispatcher hands task
 * results and task errors here and nothing else decides a job's ending: the pure functions
 * below map them (tested without Redis, in test/outcomes.test.ts), and Outcomes reports the
 * runs and hands the acks to the acker, which alone writes them to Redis.
 */
import { CodedError, hasCode } from '../errors.js';
import type { ErrorInfo } from '../queue/errors.js';
import type { FollowUpJob } from '../processors/contract.js';
import type { EncodedPayload } from '../queue/codec.js';
import { JobCorruptError } from '../queue/stored-fields.js';
import type { JobOutcome, ThreadTaskResult } from '../threads/protocol.js';
import { ThreadErrorCode } from '../threads/run-job.js';
import type { TimeLimit } from '../threads/time-limit.js';
import type { RunEnd, SupervisorEvents } from './events.js';
import type { HeldJob } from './held-job.js';
import type { Logger } from './logger.js';
import type { SupervisorStats } from './stats.js';
import { classifyTaskError, ShutdownError, SupervisorErrorCode, ThreadCrashError, TimeoutError } from './task-failure.js';

/** What the acker writes for one job. */
export type Ack =
  | { kind: 'complete'; held: HeldJob; encoded: EncodedPayload; followUps: FollowUpJob[] }
  | { kind: 'fail'; held: HeldJob; error: ErrorInfo | Error; unrecoverable: boolean; retryAfterMs?: number }
  /** Back to pending without using an attempt: never started, or interrupted through no fault of its own. */
  | { kind: 'release'; held: HeldJob }
  /** A resource every job of the queue needs is unavailable: release the job and pause the queue. */
  | { kind: 'pause'; held: HeldJob; reason: string; firstPauseMs: number; maxPauseMs: number };

export interface JobEnding {
  ack: Ack;
  /** How its run ended; absent for a job that never started (no run to report). */
  run?: { end: RunEnd; runMs?: number };
}

/** Why the supervisor stopped a task's thread because of one of the task's own jobs. */
export type KilledFor = { reason: 'timeout'; limit: TimeLimit } | { reason: 'shutdown' };

export interface TaskFailure {
  err: unknown;
  /** The cell's index when the task died: the job that was running (-1: none had started). */
  index: number;
  killedFor?: KilledFor;
  /** The supervisor stopped the thread for another task's sake (timeout, retirement, shutdown). */
  threadStopped: boolean;
}

/** Settings that shape an ack (all from the supervisor's config). */
export interface OutcomePolicy {
  shutdownTimeoutMs: number;
  maxMemoryMb: number;
  maxResourcePauseMs: number;
  /** The result as Redis will store it; throws (a ValidationError) when it cannot be stored. */
  encodeResult(held: HeldJob, result: unknown): EncodedPayload;
}

/** First pause when a processor reports a missing resource without saying for how long. */
export const DEFAULT_RESOURCE_PAUSE_MS = 60_000;

/** A result Redis would refuse (too large, not JSON) would fail its whole batch on every retry: it is the job's own failure. */
export class ResultError extends CodedError<SupervisorErrorCode> {
  constructor(cause: unknown) {
    super(SupervisorErrorCode.ResultInvalid, `the processor's result cannot be stored: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/** The ack and run end for one job's reported outcome (undefined: the thread returned none for it). */
export function endingOf(held: HeldJob, outcome: JobOutcome | undefined, runMs: number, policy: OutcomePolicy): JobEnding {
  if (!outcome) return { ack: { kind: 'release', held } };
  if (outcome.status === 'completed') {
    let encoded: EncodedPayload;
    try {
      encoded = policy.encodeResult(held, outcome.result);
    } catch (err) {
      return { ack: { kind: 'fail', held, error: new ResultError(err), unrecoverable: true }, run: { end: 'failed', runMs } };
    }
    return { ack: { kind: 'complete', held, encoded, followUps: outcome.followUps }, run: { end: 'completed', runMs } };
  }
  if (outcome.resourceUnavailable) {
    const firstPauseMs = outcome.retryAfterMs ?? DEFAULT_RESOURCE_PAUSE_MS;
    return { ack: { kind: 'pause', held, reason: outcome.error.message, firstPauseMs, maxPauseMs: policy.maxResourcePauseMs }, run: { end: 'resource', runMs } };
  }
  const end: RunEnd = hasCode(outcome.error, ThreadErrorCode.Timeout) ? 'timeout' : 'failed';
  const retryAfter = outcome.retryAfterMs !== undefined ? { retryAfterMs: outcome.retryAfterMs } : {};
  return { ack: { kind: 'fail', held, error: outcome.error, unrecoverable: outcome.unrecoverable, ...retryAfter }, run: { end, runMs } };
}

/** A task that returned: each job's own outcome, timed by the thread (else its share of the task). */
export function endingsOfResult(jobs: readonly HeldJob[], result: ThreadTaskResult, elapsedMs: number, policy: OutcomePolicy): JobEnding[] {
  const share = elapsedMs / jobs.length;
  return jobs.map((held, i) => endingOf(held, result.outcomes[i], result.durationsMs[i] ?? share, policy));
}

/**
 * A task that did not return. The job the thread was running (the cell's index) bears the
 * cause; jobs before it finished but their results died with the thread, and jobs after it
 * never started: both go back without using an attempt. A task that was collateral of another
 * task's kill blames none of its jobs.
 */
export function endingsOfFailure(jobs: readonly HeldJob[], failure: TaskFailure, policy: OutcomePolicy): JobEnding[] {
  const { err, index, killedFor } = failure;
  const cause = classifyTaskError(err, killedFor?.reason, failure.threadStopped);
  return jobs.map((held, i): JobEnding => {
    const started = i <= index;
    if (i !== index || cause === 'sibling-killed') {
      return { ack: { kind: 'release', held }, ...(started ? { run: { end: 'interrupted' } } : {}) };
    }
    if (killedFor?.reason === 'timeout') {
      return { ack: { kind: 'fail', held, error: new TimeoutError(held.job, killedFor.limit), unrecoverable: false }, run: { end: 'timeout' } };
    }
    if (cause === 'memory-cap') {
      return { ack: { kind: 'fail', held, error: err as Error, unrecoverable: true }, run: { end: 'crash' } };
    }
    if (cause === 'shutdown') {
      return { ack: { kind: 'fail', held, error: new ShutdownError(policy.shutdownTimeoutMs), unrecoverable: false, retryAfterMs: 0 }, run: { end: 'shutdown' } };
    }
    return { ack: { kind: 'fail', held, error: new ThreadCrashError(err, policy.maxMemoryMb), unrecoverable: false }, run: { end: 'crash' } };
  });
}

/** Where a queue's acks go (its Acker). */
export interface AckSink {
  push(ack: Ack): void;
}

export interface OutcomesDeps {
  ackerFor(queue: string): AckSink;
  events: SupervisorEvents;
  logger: Logger;
  stats: SupervisorStats;
  policy: OutcomePolicy;
}

/** Reports each job's run (events, stats, logs) and hands its ack to its queue's acker. */
export class Outcomes {
  constructor(private readonly deps: OutcomesDeps) {}

  taskReturned(jobs: readonly HeldJob[], result: ThreadTaskResult, elapsedMs: number): void {
    this.deliver(endingsOfResult(jobs, result, elapsedMs, this.deps.policy));
  }

  taskFailed(jobs: readonly HeldJob[], failure: TaskFailure): void {
    const endings = endingsOfFailure(jobs, failure, this.deps.policy);
    if (endings.some((e) => e.run?.end === 'crash')) {
      this.deps.logger.warn({ err: failure.err, jobs: jobs.map((h) => h.job.id) }, 'a thread died while running jobs; it was replaced');
    }
    this.deliver(endings);
  }

  /**
   * A job whose stored fields cannot be decoded (LeasedJob.corrupt): dead at once without
   * running, whatever attempts remain, since no retry can decode it either.
   */
  corrupt(held: HeldJob, problems: readonly string[]): void {
    const { job } = held;
    const error = new JobCorruptError(job.queue, job.id, problems);
    this.deps.logger.warn({ jobId: job.id, queue: job.queue, problems }, 'a leased job cannot be decoded; it went dead without running');
    this.deliver([{ ack: { kind: 'fail', held, error, unrecoverable: true } }]);
  }

  /** Jobs handed back unstarted (shutdown). */
  released(jobs: readonly HeldJob[]): void {
    this.deliver(jobs.map((held) => ({ ack: { kind: 'release', held } })));
  }

  private deliver(endings: readonly JobEnding[]): void {
    const at = Date.now();
    for (const { ack, run } of endings) {
      const { job } = ack.held;
      if (run) {
        this.deps.events.emit('ran', { job, end: run.end, ...(run.runMs !== undefined ? { runMs: run.runMs } : {}), at });
        if (run.end === 'timeout') this.deps.stats.timedOut += 1;
        this.log(ack, run.end, run.runMs);
      }
      this.deps.ackerFor(job.queue).push(ack);
    }
  }

  private log(ack: Ack, end: RunEnd, durationMs: number | undefined): void {
    const { job } = ack.held;
    const fields = { jobId: job.id, queue: job.queue, processor: job.processor, attempt: job.attempt, durationMs };
    if (ack.kind === 'complete') this.deps.logger.debug(fields, 'job completed');
    else if (end === 'timeout' && durationMs === undefined) this.deps.logger.warn(fields, 'job timed out; its thread was stopped and replaced');
    else if (ack.kind === 'fail') this.deps.logger.debug({ ...fields, err: ack.error, unrecoverable: ack.unrecoverable }, 'job failed');
  }
}
