/** Errors of the `http` executor processor; callers match on `code`. */
import { CodedError, type CodeOf } from '../../errors.js';

export const HttpExecutorErrorCode = {
  NoExecutors: 'HTTP_NO_EXECUTORS',
  NoHealthyExecutor: 'HTTP_NO_HEALTHY_EXECUTOR',
  Timeout: 'HTTP_EXECUTOR_TIMEOUT',
  Network: 'HTTP_EXECUTOR_NETWORK',
  Rejected: 'HTTP_EXECUTOR_REJECTED',
  Failed: 'HTTP_EXECUTOR_FAILED',
  BadAnswer: 'HTTP_EXECUTOR_BAD_ANSWER',
  BadConfig: 'HTTP_EXECUTOR_BAD_CONFIG',
} as const;
export type HttpExecutorErrorCode = CodeOf<typeof HttpExecutorErrorCode>;

export class HttpExecutorError extends CodedError<HttpExecutorErrorCode> {
  override name = 'HttpExecutorError';
  readonly unrecoverable: boolean;
  readonly executor?: string;
  readonly status?: number;
  readonly retryAfterMs?: number;

  constructor(
    code: HttpExecutorErrorCode,
    message: string,
    details: { unrecoverable: boolean; executor?: string; status?: number; retryAfterMs?: number; cause?: unknown },
  ) {
    super(code, message, details.cause === undefined ? undefined : { cause: details.cause });
    this.unrecoverable = details.unrecoverable;
    if (details.executor !== undefined) this.executor = details.executor;
    if (details.status !== undefined) this.status = details.status;
    if (details.retryAfterMs !== undefined) this.retryAfterMs = details.retryAfterMs;
  }
}
