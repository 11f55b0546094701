/**
 * Runs one job inside a thread: look up, validate, run under the cooperative time limit, and turn
 * whatever happens into a JobOutcome. Nothing a processor does here may reject the Piscina task:
 * a rejected task means "the thread died" to the supervisor, and it loses the error's code.
 */
import { parentPort } from 'node:worker_threads';
import { CodedError, type CodeOf } from '../errors.js';
import { INVALID_INPUT_CODE, type FollowUpJob, type Processor, type ProcessorContext, type ProcessorLogger } from '../processors/contract.js';
import type { RegistryEntry } from '../processors/plugins.js';
import { toErrorInfo } from '../queue/errors.js';
import { findUncloneable } from './clone-check.js';
import { describeLimit, type TimeLimit } from './time-limit.js';
import type { JobOutcome, ThreadEvent, ThreadJob } from './protocol.js';

/** Codes of the errors a thread raises about a job (not ones the processor threw). */
export const ThreadErrorCode = {
  UnknownProcessor: 'UNKNOWN_PROCESSOR',
  InvalidInput: INVALID_INPUT_CODE,
  Timeout: 'JOB_TIMEOUT',
  ResultNotCloneable: 'RESULT_NOT_CLONEABLE',
  PluginLoad: 'PLUGIN_LOAD_FAILED',
} as const;
export type ThreadErrorCode = CodeOf<typeof ThreadErrorCode>;

/** An error the thread raises about a job; `name` is what the job's history shows (TimeoutError, …). */
export class JobRunError extends CodedError<ThreadErrorCode> {
  constructor(name: string, code: ThreadErrorCode, message: string) {
    super(code, message);
    this.name = name;
  }
}

export function failedOutcome(err: unknown, attempt: number, unrecoverable = false): JobOutcome {
  const flags = (typeof err === 'object' && err !== null ? err : {}) as {
    unrecoverable?: unknown;
    retryAfterMs?: unknown;
    resourceUnavailable?: unknown;
  };
  const retryAfterMs = flags.retryAfterMs;
  return {
    status: 'failed',
    error: toErrorInfo(err, Date.now(), attempt),
    unrecoverable: unrecoverable || flags.unrecoverable === true,
    ...(typeof retryAfterMs === 'number' && Number.isFinite(retryAfterMs) && retryAfterMs >= 0 ? { retryAfterMs } : {}),
    ...(flags.resourceUnavailable === true ? { resourceUnavailable: true } : {}),
  };
}

export function unknownProcessor(job: ThreadJob, registry: Map<string, RegistryEntry>): JobOutcome {
  const known = [...registry.keys()].sort().join(', ');
  const err = new JobRunError(
    'UnknownProcessorError',
    ThreadErrorCode.UnknownProcessor,
    `no processor named "${job.processor}" in this supervisor (known: ${known}); ` +
      'load it with --plugin <file or package>, or fix the job\'s processor name',
  );
  return failedOutcome(err, job.attempt, true);
}

/** A job that cannot be validated can never succeed: it fails unrecoverable, with the validator's words. */
function validationFailure(processor: Processor, input: unknown): Error | undefined {
  if (!processor.validate) return undefined;
  let message: string | undefined;
  try {
    const returned = processor.validate(input);
    if (typeof returned === 'string' && returned !== '') message = returned;
  } catch (err) {
    message = err instanceof Error ? err.message : String(err);
  }
  return message === undefined ? undefined : new JobRunError('InvalidInputError', ThreadErrorCode.InvalidInput, message);
}

function post(event: ThreadEvent): void {
  // Outside a Piscina thread (a direct call in a test) nobody listens, so events have nowhere to go.
  parentPort?.postMessage(event);
}

function makeLogger(job: ThreadJob): ProcessorLogger {
  const log = (level: 'debug' | 'info' | 'warn' | 'error') => (message: string, fields?: Record<string, unknown>) => {
    const base = { kind: 'log', queue: job.queue, jobId: job.id, level, message: String(message) } as const;
    try {
      post(fields === undefined ? base : { ...base, fields });
    } catch (err) {
      // Logging must never fail a job: keep the line and say why its fields are missing.
      post({ ...base, fields: { fieldsDropped: `fields could not be copied out of the thread: ${(err as Error).message}` } });
    }
  };
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}

function checkFollowUp(job: FollowUpJob): void {
  if (typeof job !== 'object' || job === null || typeof job.processor !== 'string' || job.processor === '') {
    throw new TypeError('ctx.followUp(job): job must be an object with a non-empty processor name, e.g. { processor: "email", data: {...} }');
  }
  const problem = findUncloneable(job, 'followUp');
  if (problem) throw new TypeError(`ctx.followUp(job): ${problem}; pass plain data (JSON values)`);
}

export interface RunJobOptions {
  job: ThreadJob;
  entry: RegistryEntry;
  input: unknown;
  limit: TimeLimit;
}

export async function runJob({ job, entry, input, limit }: RunJobOptions): Promise<JobOutcome> {
  const { processor } = entry;
  const invalid = validationFailure(processor, input);
  if (invalid) return failedOutcome(invalid, job.attempt, true);

  // The signal and the logger are made when a processor first reads them: most tiny jobs never
  // do, and an AbortController per job was a measurable share of a thread's time per job.
  let controller: AbortController | undefined;
  let abortReason: JobRunError | undefined;
  let logger: ProcessorLogger | undefined;
  const followUps: FollowUpJob[] = [];
  const ctx: ProcessorContext = {
    jobId: job.id,
    queue: job.queue,
    attempt: job.attempt,
    maxAttempts: job.maxAttempts,
    get signal(): AbortSignal {
      if (!controller) {
        controller = new AbortController();
        if (abortReason) controller.abort(abortReason);
      }
      return controller.signal;
    },
    progress(value: unknown) {
      try {
        post({ kind: 'progress', queue: job.queue, jobId: job.id, value });
      } catch (err) {
        throw new TypeError(`ctx.progress(value): the value cannot be copied out of the thread (${(err as Error).message}); report plain JSON data`);
      }
    },
    get log(): ProcessorLogger {
      return (logger ??= makeLogger(job));
    },
    followUp(followUp: FollowUpJob) {
      checkFollowUp(followUp);
      followUps.push(followUp);
    },
  };

  // Built only when a job really times out: an Error captures a stack, which costs more than a noop job.
  const timeoutError = (): JobRunError => {
    const { setBy, raiseWith } = describeLimit(limit, processor.name);
    return new JobRunError(
      'TimeoutError',
      ThreadErrorCode.Timeout,
      `job ${job.id} (processor "${processor.name}") ran past its time limit of ${limit.ms} ms, set by ${setBy}, and was aborted; raise it with ${raiseWith}`,
    );
  };
  const started = performance.now();
  // A synchronous run() blocks the timer, so lateness is also judged by the clock afterwards:
  // a result that arrives after the limit is discarded the same way whether run() was sync or not.
  const overLimit = (): boolean => limit.ms > 0 && (abortReason !== undefined || performance.now() - started >= limit.ms);
  const timer =
    limit.ms > 0
      ? setTimeout(() => {
          abortReason = timeoutError();
          controller?.abort(abortReason);
        }, limit.ms)
      : undefined;
  try {
    const result = await processor.run(input, ctx);
    if (overLimit()) return failedOutcome(timeoutError(), job.attempt);
    const problem = findUncloneable(result, 'result');
    if (problem) {
      const err = new JobRunError(
        'ResultNotCloneableError',
        ThreadErrorCode.ResultNotCloneable,
        `processor "${processor.name}" returned a result that cannot leave its thread: ${problem}; return plain data (JSON values) or bytes`,
      );
      return failedOutcome(err, job.attempt, true);
    }
    return { status: 'completed', result, followUps };
  } catch (err) {
    // After the limit, whatever run() threw (usually the AbortError its own signal caused) is a
    // consequence of the timeout, and the timeout is what the job's history should say.
    if (overLimit()) return failedOutcome(timeoutError(), job.attempt);
    return failedOutcome(err, job.attempt);
  } finally {
    clearTimeout(timer);
  }
}
