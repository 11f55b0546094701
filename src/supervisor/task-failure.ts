import { CodedError, hasCode, type CodeOf } from '../errors.js';
import { ThreadErrorCode } from '../threads/run-job.js';
import { describeLimit, type TimeLimit } from '../threads/time-limit.js';

/** Codes of the errors the supervisor gives a job whose run it ended or whose outcome it refused. */
export const SupervisorErrorCode = {
  Timeout: ThreadErrorCode.Timeout,
  ThreadCrashed: 'THREAD_CRASHED',
  ThreadOutOfMemory: 'THREAD_OUT_OF_MEMORY',
  /** --max-rss-mb: the RSS watch stopped the job's thread (memory-watch.ts). */
  MemoryCap: 'THREAD_MEMORY_CAP',
  Shutdown: 'SHUTDOWN',
  ResultInvalid: 'RESULT_INVALID',
} as const;
export type SupervisorErrorCode = CodeOf<typeof SupervisorErrorCode>;

/** How a thread task that did not return ended, and what each of its jobs gets for it. */
export type TaskEnd = 'timeout' | 'shutdown' | 'sibling-killed' | 'thread-crashed' | 'memory-cap';

/** Piscina rejects tasks with this message when the pool itself is being destroyed. */
const POOL_TERMINATED = /^Terminating worker thread/;

/**
 * `killedFor`: the supervisor stopped this task's thread because of this task's own job.
 * `threadStopped`: the supervisor stopped the thread for another reason (another task's
 * timeout, retirement, shutdown): this task is collateral, not the cause.
 */
export function classifyTaskError(err: unknown, killedFor: 'timeout' | 'shutdown' | undefined, threadStopped: boolean): TaskEnd {
  // The RSS watch stopped the thread for this very task (the pool rejects only it with the error).
  if (hasCode(err, SupervisorErrorCode.MemoryCap)) return 'memory-cap';
  if (killedFor) return killedFor;
  if (threadStopped) return 'sibling-killed';
  if (err instanceof Error && POOL_TERMINATED.test(err.message)) return 'sibling-killed';
  return 'thread-crashed';
}

/** The watchdog stopped a job's thread: the job ignored its abort signal past the limit plus grace. */
export class TimeoutError extends CodedError<SupervisorErrorCode> {
  constructor(job: { id: string; processor: string }, limit: TimeLimit) {
    const { setBy, raiseWith } = describeLimit(limit, job.processor);
    super(
      SupervisorErrorCode.Timeout,
      `job ${job.id} (processor "${job.processor}") ran past its ${limit.ms} ms time limit, set by ${setBy}, ` +
        `and its thread was stopped; raise it with ${raiseWith}`,
    );
  }
}

export class ThreadCrashError extends CodedError<SupervisorErrorCode> {
  constructor(cause: unknown, maxMemoryMb: number) {
    const inner = cause instanceof Error ? cause : new Error(String(cause));
    const oom = (inner as Error & { code?: string }).code === 'ERR_WORKER_OUT_OF_MEMORY';
    super(
      oom ? SupervisorErrorCode.ThreadOutOfMemory : SupervisorErrorCode.ThreadCrashed,
      oom
        ? `the job's thread ran out of memory (over --max-memory-mb ${maxMemoryMb}) and was replaced: ${inner.message}`
        : `the job's thread died and was replaced: ${inner.message}`,
      { cause: inner },
    );
  }
}

export class ShutdownError extends CodedError<SupervisorErrorCode> {
  constructor(shutdownTimeoutMs: number) {
    super(SupervisorErrorCode.Shutdown, `the supervisor shut down and the job was still running after --shutdown-timeout-ms ${shutdownTimeoutMs}; it will be retried`);
  }
}
