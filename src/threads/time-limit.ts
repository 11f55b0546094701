/**
 * A job's time limit is decided once, in the thread that runs it (the job's own timeoutMs, else
 * its processor's, else the supervisor's default), and published in the task's shared cell with
 * where it came from. The thread's own abort and the supervisor's watchdog then apply the same
 * number, and both name the same source in the job's error.
 */
import type { Processor } from '../processors/contract.js';

/** Where a limit came from; stored in the cell as its index. */
export const LIMIT_SOURCES = ['job', 'processor', 'default'] as const;
export type LimitSource = (typeof LIMIT_SOURCES)[number];

export interface TimeLimit {
  /** 0 = none. */
  ms: number;
  source: LimitSource;
}

export function timeLimitFor(jobTimeoutMs: number, processor: Pick<Processor, 'timeoutMs'> | undefined, defaultTimeoutMs: number): TimeLimit {
  if (jobTimeoutMs > 0) return { ms: jobTimeoutMs, source: 'job' };
  if (processor?.timeoutMs !== undefined && processor.timeoutMs > 0) return { ms: processor.timeoutMs, source: 'processor' };
  return { ms: defaultTimeoutMs, source: 'default' };
}

/** "set by …; raise it with …", for the error a timed-out job gets. */
export function describeLimit(limit: TimeLimit, processorName: string): { setBy: string; raiseWith: string } {
  switch (limit.source) {
    case 'job':
      return { setBy: "the job's timeoutMs", raiseWith: "the job's timeoutMs option" };
    case 'processor':
      return {
        setBy: `processor "${processorName}"'s timeoutMs`,
        raiseWith: "the processor's timeoutMs, or the job's timeoutMs option (which overrides it)",
      };
    case 'default':
      return { setBy: "the supervisor's default", raiseWith: "--job-timeout-ms (0 = none), or the job's timeoutMs option" };
  }
}
