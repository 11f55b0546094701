/** How a thread task that did not return ended, and what each of its jobs gets for it. */
export type TaskEnd = 'timeout' | 'shutdown' | 'sibling-killed' | 'thread-crashed';

/** Piscina rejects tasks with this message when the pool itself is being destroyed. */
const POOL_TERMINATED = /^Terminating worker thread/;

/**
 * `killedFor`: the supervisor stopped this task's thread because of this task's own job.
 * `threadStopped`: the supervisor stopped the thread for another reason (another task's
 * timeout, retirement, shutdown): this task is collateral, not the cause.
 */
export function classifyTaskError(err: unknown, killedFor: 'timeout' | 'shutdown' | undefined, threadStopped: boolean): TaskEnd {
  if (killedFor) return killedFor;
  if (threadStopped) return 'sibling-killed';
  if (err instanceof Error && POOL_TERMINATED.test(err.message)) return 'sibling-killed';
  return 'thread-crashed';
}

export class TimeoutError extends Error {
  override name = 'TimeoutError';
  readonly code = 'JOB_TIMEOUT';
  constructor(timeoutMs: number) {
    super(`job ran past its ${timeoutMs} ms time limit and its thread was stopped; raise timeoutMs on the job or the processor, or --job-timeout-ms`);
  }
}

export class ThreadCrashError extends Error {
  override name = 'ThreadCrashError';
  readonly code: string;
  constructor(cause: unknown, maxMemoryMb: number) {
    const inner = cause instanceof Error ? cause : new Error(String(cause));
    const oom = (inner as Error & { code?: string }).code === 'ERR_WORKER_OUT_OF_MEMORY';
    super(
      oom
        ? `the job's thread ran out of memory (over --max-memory-mb ${maxMemoryMb}) and was replaced: ${inner.message}`
        : `the job's thread died and was replaced: ${inner.message}`,
      { cause: inner },
    );
    this.code = oom ? 'THREAD_OUT_OF_MEMORY' : 'THREAD_CRASHED';
  }
}

export class ShutdownError extends Error {
  override name = 'ShutdownError';
  readonly code = 'SHUTDOWN';
  constructor(shutdownTimeoutMs: number) {
    super(`the supervisor shut down and the job was still running after --shutdown-timeout-ms ${shutdownTimeoutMs}; it will be retried`);
  }
}
