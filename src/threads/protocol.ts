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
  /** Destinations network processors may reach beyond public addresses (config allowHosts; src/net-guard). Absent: none. */
  allowHosts?: string[];
  /** Directories a wasm job's data.module may name a file in (config wasmModuleDirs). Absent: none. */
  wasmModuleDirs?: string[];
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
/**
 * [5] bytes the thread holds outside its V8 heap (process.memoryUsage().external in the thread:
 * its ArrayBuffers and other external memory), [6] Date.now() when it last wrote [5]. The thread
 * writes both every MEMORY_REPORT_MS while its event loop runs (src/threads/memory-report.ts);
 * a report that stops coming means the thread is in one long synchronous run, which the
 * supervisor's RSS watch (src/supervisor/memory-watch.ts) counts against it.
 */
export const CELL_EXTERNAL_BYTES = 5;
export const CELL_MEMORY_AT = 6;
export const CELL_SLOTS = 7;
export const MEMORY_REPORT_MS = 100;

/**
 * A task's jobs as one array per field. Structured clone writes every property name of every
 * object, so 64 job objects took 2.7x the time of these columns to post (0.44 vs 0.16 µs a job,
 * measured with v8.serialize; the thread pays the same again to read them).
 */
export interface JobColumns {
  ids: string[];
  queues: string[];
  processors: string[];
  data: unknown[];
  attempts: number[];
  maxAttempts: number[];
  timeoutsMs: number[];
}

export interface ThreadTask {
  jobs: JobColumns;
  cell: SharedArrayBuffer;
}

export function toColumns(jobs: readonly ThreadJob[]): JobColumns {
  const columns: JobColumns = { ids: [], queues: [], processors: [], data: [], attempts: [], maxAttempts: [], timeoutsMs: [] };
  for (const job of jobs) {
    columns.ids.push(job.id);
    columns.queues.push(job.queue);
    columns.processors.push(job.processor);
    columns.data.push(job.data);
    columns.attempts.push(job.attempt);
    columns.maxAttempts.push(job.maxAttempts);
    columns.timeoutsMs.push(job.timeoutMs);
  }
  return columns;
}

export function jobAt(columns: JobColumns, index: number): ThreadJob {
  return {
    id: columns.ids[index]!,
    queue: columns.queues[index]!,
    processor: columns.processors[index]!,
    data: columns.data[index],
    attempt: columns.attempts[index]!,
    maxAttempts: columns.maxAttempts[index]!,
    timeoutMs: columns.timeoutsMs[index]!,
  };
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
