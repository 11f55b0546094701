/**
 * The processor contract. A plugin is a plain ES module whose default export has this shape;
 * it needs no import of troupe (defineProcessor only adds types).
 */
export interface ProcessorLogger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export interface FollowUpJob {
  /** Defaults to the parent job's queue. */
  queue?: string;
  processor: string;
  data?: unknown;
  options?: Record<string, unknown>;
}

export interface ProcessorContext {
  readonly jobId: string;
  readonly queue: string;
  /** 1 on the first run. */
  readonly attempt: number;
  readonly maxAttempts: number;
  /** Aborted when the job's time is up or the supervisor shuts down: stop promptly. */
  readonly signal: AbortSignal;
  /** Reports progress (any JSON value); stored on the job, visible in `troupe job`. */
  progress(value: unknown): void;
  readonly log: ProcessorLogger;
  /**
   * Names a job to enqueue once this one completes. Its id is derived from this job's id, so a
   * re-run after a crash never enqueues it twice.
   */
  followUp(job: FollowUpJob): void;
}

export interface Processor<I = unknown, O = unknown> {
  /** The name jobs use to select this processor. */
  name: string;
  run(input: I, ctx: ProcessorContext): O | Promise<O>;
  /** Default time limit per run when the job sets none. */
  timeoutMs?: number;
  /**
   * Set it when the processor mostly waits (network, timers) rather than computes: up to this
   * many of its jobs run at once per supervisor, on an I/O thread of their own, outside the CPU
   * slots (threads x tasksPerThread). Its jobs then never hold a slot CPU work needs, and CPU
   * work is never put on a thread beside them. Leave it unset for CPU work.
   */
  concurrency?: number;
  /**
   * Memory cap in MiB. Enforced for WebAssembly processors (`wasm`, wasmProcessor()), as the
   * maximum of the module's memory. For a JS processor it is checked at load but not enforced:
   * one thread pool has one heap limit, so --max-memory-mb caps every thread (docs/plugins.md).
   */
  maxMemoryMb?: number;
  /** Throw (or return a message) to reject bad input: the job goes dead without retries. */
  validate?(input: unknown): void | string | undefined;
  /** Free-form description shown by `troupe processors`. */
  description?: string;
}

/** Identity at run time; gives a plugin author types. */
export function defineProcessor<I, O>(processor: Processor<I, O>): Processor<I, O> {
  return processor;
}

/** The code of a job whose input its processor refuses, whether the thread's validate() step or a direct run() finds it. */
export const INVALID_INPUT_CODE = 'INVALID_INPUT';

/**
 * Signals a processor can raise without importing troupe: any error with these properties.
 *   unrecoverable: true          no retry, straight to the dead-letter queue
 *   retryAfterMs: number         retry after this delay instead of the back-off policy
 *   resourceUnavailable: true    a resource every job of the queue needs is unavailable (quota,
 *                                credentials): the queue pauses for all supervisors, the job
 *                                goes back without using an attempt (retryAfterMs: first pause)
 */
export class UnrecoverableError extends Error {
  readonly unrecoverable = true;
  override name = 'UnrecoverableError';
}

export class RetryAfterError extends Error {
  override name = 'RetryAfterError';
  constructor(
    message: string,
    readonly retryAfterMs: number,
  ) {
    super(message);
  }
}

export class ResourceUnavailableError extends Error {
  readonly resourceUnavailable = true;
  override name = 'ResourceUnavailableError';
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}
