/**
 * One error family for the queue layer. Callers match on `err.code`, never on message text;
 * messages name the problem and the fix.
 */
import { CodedError, type CodeOf } from '../errors.js';
import type { JobState } from './keys.js';

export const ErrorCode = {
  InvalidOption: 'INVALID_OPTION',
  PayloadTooLarge: 'PAYLOAD_TOO_LARGE',
  NotSerialisable: 'NOT_SERIALISABLE',
  UnknownState: 'UNKNOWN_STATE',
  JobNotFound: 'JOB_NOT_FOUND',
  NotCancellable: 'NOT_CANCELLABLE',
  LeaseLost: 'LEASE_LOST',
  WaitTimeout: 'WAIT_TIMEOUT',
  JobFailed: 'JOB_FAILED',
  Closed: 'CLOSED',
  NotReplicated: 'NOT_REPLICATED',
  JobCorrupt: 'JOB_CORRUPT',
  RedisOutOfMemory: 'REDIS_OOM',
} as const;
export type ErrorCode = CodeOf<typeof ErrorCode>;

export class TroupeError extends CodedError<ErrorCode> {}

/** A caller-supplied option or argument is wrong; `field` names it. The message is `field: detail`. */
export class ValidationError extends TroupeError {
  readonly field: string;
  /** The message without the leading `field: `, for callers that name the field their own way (a CLI flag). */
  readonly detail: string;
  constructor(field: string, detail: string, code: ErrorCode = ErrorCode.InvalidOption) {
    super(code, `${field}: ${detail}`);
    this.field = field;
    this.detail = detail;
  }
}

export class JobNotFoundError extends TroupeError {
  constructor(queue: string, id: string) {
    super(ErrorCode.JobNotFound, `job ${id} not found in queue ${queue} (it may have been removed by retention)`);
  }
}

export class NotCancellableError extends TroupeError {
  constructor(id: string, state: string) {
    super(
      ErrorCode.NotCancellable,
      `job ${id} is ${state}; only pending or delayed jobs can be cancelled` +
        (state === 'active' ? ' (a supervisor is running it: let it finish or fail)' : ''),
    );
  }
}

/**
 * Durability is on and the write reached the master but fewer replicas than asked within the
 * wait: it is stored, but would be lost if that master failed now.
 */
export class NotReplicatedError extends TroupeError {
  readonly ids: string[];
  readonly replicas: number;
  constructor(what: string, ids: string[], replicas: number, wanted: number, timeoutMs: number) {
    super(
      ErrorCode.NotReplicated,
      `${what} reached the master but only ${replicas} of ${wanted} replicas confirmed it within ${timeoutMs} ms; ` +
        'it is stored, but a failover now could lose it. Check the replicas (INFO replication), raise --redis-wait-timeout-ms, ' +
        'or retry with the same jobId (an existing id is not enqueued twice)',
    );
    this.ids = ids;
    this.replicas = replicas;
  }
}

/** Where a job stood when a wait for it ended (src/queue/wait-situation.ts reads it). */
export interface WaitSituation {
  /** The job's state; undefined when it was gone, or could not be read. */
  state?: JobState;
  /** Live supervisors serving the job's queue, counted when the job was waiting to run. */
  liveSupervisors?: number;
  /** What the state means and what to do, as a clause: "it is pending and never started: ...". */
  explanation: string;
}

export class WaitTimeoutError extends TroupeError {
  readonly jobId: string;
  readonly state: JobState | undefined;
  readonly liveSupervisors: number | undefined;
  constructor(id: string, timeoutMs: number, situation: WaitSituation = { explanation: 'wait again or raise timeoutMs' }) {
    super(ErrorCode.WaitTimeout, `job ${id} did not finish within ${timeoutMs} ms: ${situation.explanation}`);
    this.jobId = id;
    this.state = situation.state;
    this.liveSupervisors = situation.liveSupervisors;
  }
}

/** Serialised form of an error as stored on a job. */
export interface ErrorInfo {
  name: string;
  message: string;
  code?: string;
  stack?: string;
  at?: number;
  attempt?: number;
}

export class JobFailedError extends TroupeError {
  readonly jobId: string;
  readonly jobError: ErrorInfo | undefined;
  constructor(id: string, jobError: ErrorInfo | undefined) {
    super(ErrorCode.JobFailed, `job ${id} is dead: ${jobError ? `${jobError.name}: ${jobError.message}` : 'no error recorded'}`);
    this.jobId = id;
    this.jobError = jobError;
  }
}

export class ClosedError extends TroupeError {
  constructor(what: string) {
    super(ErrorCode.Closed, `${what} is closed`);
  }
}

export function toErrorInfo(err: unknown, at: number, attempt?: number): ErrorInfo {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return {
      name: err.name,
      message: err.message,
      ...(typeof code === 'string' ? { code } : {}),
      ...(err.stack ? { stack: err.stack } : {}),
      at,
      ...(attempt !== undefined ? { attempt } : {}),
    };
  }
  return { name: 'Error', message: String(err), at, ...(attempt !== undefined ? { attempt } : {}) };
}
