/**
 * Typed messages between the supervisor and its threads: one union per direction.
 * A task carries one or more jobs; the thread runs them in order and answers once.
 */
import type { RedisConnectionSpec } from '../queue/connection.js';
import type { ErrorInfo } from '../queue/errors.js';
import type { FollowUpJob } from '../processors/contract.js';

/** Given to every thread at start (Piscina workerData). */
export interface ThreadInit {
  /**
   * Plugin module specifiers, loaded on a thread's first task. Best passed already resolved
   * (LoadedPlugin.url from loadPlugins in the supervisor), so the thread loads exactly what the
   * supervisor checked; relative paths and package names resolve from pluginBaseDir.
   */
  plugins: string[];
  /** Where relative plugin paths and package names resolve from (default: process.cwd()). */
  pluginBaseDir?: string;
  /** Default time limit when neither the job nor the processor sets one (0 = none). */
  defaultTimeoutMs: number;
  /** The supervisor's Redis, for built-in processors that maintain it (maintenance). */
  redis?: RedisConnectionSpec;
}

export interface ThreadJob {
  id: string;
  queue: string;
  processor: string;
  /** Parsed JSON, or bytes (transferred, not copied). */
  data: unknown;
  attempt: number;
  maxAttempts: number;
  /** The job's own limit; 0 leaves it to the processor's timeoutMs, then ThreadInit.defaultTimeoutMs. */
  timeoutMs: number;
}

/**
 * The thread publishes which job it is running, since when, and under which time limit, in a
 * shared cell, so the supervisor's watchdog times each job from its real start by the limit the
 * thread applies, without a message per job.
 * Layout (BigInt64Array): [0] index of the running job (-1 before the first, length when done),
 * [1] Date.now() when that job started, [2] its time limit in ms (0 = none), [3] the threadId of
 * the thread running the task, written when the task starts, so the supervisor can stop that one
 * thread (and recognise its other tasks as collateral), [4] where the limit came from (an index
 * into LIMIT_SOURCES of time-limit.ts).
 * The thread writes [1], [2] and [4] before [0], so a reader that loads [0] first never pairs a
 * new index with the previous job's start or limit (which would kill a job that just began).
 */
export const CELL_INDEX = 0;
export const CELL_STARTED_AT = 1;
export const CELL_TIMEOUT_MS = 2;
export const CELL_THREAD_ID = 3;
export const CELL_LIMIT_SOURCE = 4;
export const CELL_SLOTS = 5;

export interface ThreadTask {
  jobs: ThreadJob[];
  cell: SharedArrayBuffer;
}

export type JobOutcome =
  | { status: 'completed'; result: unknown; followUps: FollowUpJob[] }
  | {
      status: 'failed';
      error: ErrorInfo;
      unrecoverable: boolean;
      retryAfterMs?: number;
      /** A resource all the queue's jobs need is unavailable: pause the queue. */
      resourceUnavailable?: boolean;
    };

export interface ThreadTaskResult {
  outcomes: JobOutcome[];
  /** Run time of each job in the thread, in the order of outcomes. */
  durationsMs: number[];
  threadId: number;
  /** Jobs this thread has run since it started (for recycling). */
  jobsRun: number;
  /** V8 heap in use after the task (for recycling a thread whose heap stays high). */
  heapUsedBytes: number;
}

/** Sent by a thread through parentPort while a job runs (Piscina emits them as 'message'). */
export type ThreadEvent =
  | { kind: 'progress'; queue: string; jobId: string; value: unknown }
  | { kind: 'log'; queue: string; jobId: string; level: 'debug' | 'info' | 'warn' | 'error'; message: string; fields?: Record<string, unknown> };

export function isThreadEvent(message: unknown): message is ThreadEvent {
  if (typeof message !== 'object' || message === null) return false;
  const kind = (message as { kind?: unknown }).kind;
  return kind === 'progress' || kind === 'log';
}
