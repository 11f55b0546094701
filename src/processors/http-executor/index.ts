/**
 * `http`: routes a job to one of several HTTP executor services. The executor list comes from
 * the job's data (`executors`) or, for a whole deployment, TROUPE_HTTP_EXECUTORS (comma-separated
 * base URLs). The job is POSTed as JSON to <base><path> and the executor's JSON answer is the
 * job's result. Health, skipping and balancing live in pool.ts.
 */
import type { Processor, ProcessorContext } from '../contract.js';
import { parseRetryAfter } from '../fetch/errors.js';
import { FetchError } from '../fetch/errors.js';
import { checkHttpUrl } from '../fetch/url.js';
import { refusalIn } from '../../net-guard/index.js';
import { HttpExecutorError, HttpExecutorErrorCode } from './errors.js';
import { executorGuard } from './guard.js';
import { describeNetworkError, ExecutorPool, type Lease } from './pool.js';
import { postJson, type PostAnswer } from './post.js';
import { HTTP_EXECUTORS_ENV, HTTP_SPEC } from './spec.js';

export { validateHttp } from './spec.js';

export { HTTP_EXECUTORS_ENV };

export const HTTP_EXECUTOR_DEFAULTS = Object.freeze({
  path: '/run',
  timeoutMs: 30_000,
  maxBytes: 10 * 1024 * 1024,
});

export interface HttpJobInput {
  /** Sent to the executor as `input`. */
  input?: unknown;
  /** Base URLs; default: TROUPE_HTTP_EXECUTORS. */
  executors?: string[];
  /** Where jobs are POSTed, below each base URL. */
  path?: string;
  /** Time for the executor to answer the POST. */
  timeoutMs?: number;
  /** Largest answer accepted. */
  maxBytes?: number;
}

/**
 * One pool per thread, kept across jobs: executor health is what earlier jobs learnt, and a
 * pool rebuilt per job would re-check every executor and forget its back-off. Worker threads
 * have their own module state, so each thread balances its own jobs.
 */
let threadPool: ExecutorPool | undefined;


/** The executors for a job: its own list, else the deployment's. */
export function executorsFor(input: HttpJobInput, env: NodeJS.ProcessEnv = process.env): string[] {
  const fromJob = input.executors;
  const raw = fromJob ?? (env[HTTP_EXECUTORS_ENV] ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (raw.length === 0) {
    throw new HttpExecutorError(
      HttpExecutorErrorCode.NoExecutors,
      `http: no executors configured; set ${HTTP_EXECUTORS_ENV}=http://host:port,... for the supervisor, or give data.executors in the job`,
      { unrecoverable: true },
    );
  }
  if (!fromJob) {
    raw.forEach((url, i) => {
      const problem = checkHttpUrl(url, `${HTTP_EXECUTORS_ENV} entry ${i + 1}`);
      if (problem) throw new HttpExecutorError(HttpExecutorErrorCode.BadConfig, `http: ${problem}; fix the supervisor's environment`, { unrecoverable: true });
    });
  }
  return [...new Set(raw.map((url) => url.replace(/\/+$/, '')))];
}

function isRefused(err: unknown): boolean {
  return describeNetworkError(err) === 'ECONNREFUSED';
}

async function post(lease: Lease, input: HttpJobInput, ctx: ProcessorContext): Promise<unknown> {
  const path = input.path ?? HTTP_EXECUTOR_DEFAULTS.path;
  const timeoutMs = input.timeoutMs ?? HTTP_EXECUTOR_DEFAULTS.timeoutMs;
  const url = `${lease.base}${path}`;
  const timeout = AbortSignal.timeout(timeoutMs);
  const body = JSON.stringify({ jobId: ctx.jobId, queue: ctx.queue, attempt: ctx.attempt, maxAttempts: ctx.maxAttempts, input: input.input ?? null });
  let answer: PostAnswer;
  try {
    answer = await postJson(url, body, { accept: 'application/json', 'x-troupe-job-id': ctx.jobId }, AbortSignal.any([ctx.signal, timeout]), input.maxBytes ?? HTTP_EXECUTOR_DEFAULTS.maxBytes, executorGuard(lease.base));
  } catch (err) {
    if (ctx.signal.aborted) throw ctx.signal.reason;
    const refused = refusalIn(err);
    if (refused) throw refused;
    if (timeout.aborted) {
      lease.markDown(`POST ${path} did not answer within ${timeoutMs} ms`);
      throw new HttpExecutorError(HttpExecutorErrorCode.Timeout, `http: executor ${lease.base} did not answer POST ${path} within ${timeoutMs} ms; the job is retried per its back-off policy (raise data.timeoutMs if jobs are this long)`, {
        unrecoverable: false,
        executor: lease.base,
      });
    }
    if (err instanceof FetchError || isRefused(err)) throw err;
    lease.markDown(`POST ${path} failed (${describeNetworkError(err)})`);
    throw new HttpExecutorError(HttpExecutorErrorCode.Network, `http: POST ${url} failed (${describeNetworkError(err)}); the executor may have died mid-job, the job is retried per its back-off policy`, {
      unrecoverable: false,
      executor: lease.base,
      cause: err,
    });
  }
  const response = { status: answer.status, retryAfter: typeof answer.headers['retry-after'] === 'string' ? answer.headers['retry-after'] : null };
  const text = answer.body.toString('utf8');
  if (response.status < 200 || response.status > 299) {
    const retryable = response.status >= 500 || response.status === 408 || response.status === 429;
    const retryAfterMs = retryable ? parseRetryAfter(response.retryAfter) : undefined;
    const said = text.length > 500 ? `${text.slice(0, 500)}...` : text;
    throw new HttpExecutorError(
      retryable ? HttpExecutorErrorCode.Failed : HttpExecutorErrorCode.Rejected,
      `http: executor ${lease.base} answered ${response.status} to POST ${path}: ${said || '(empty body)'}` +
        (retryable ? '; the job is retried per its back-off policy' : '; the executor refused this job, so it is not retried'),
      { unrecoverable: !retryable, executor: lease.base, status: response.status, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) },
    );
  }
  if (text.trim() === '') return null;
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new HttpExecutorError(HttpExecutorErrorCode.BadAnswer, `http: executor ${lease.base} answered ${response.status} with a body that is not JSON (${(err as Error).message}); fix the executor`, {
      unrecoverable: false,
      executor: lease.base,
      status: response.status,
    });
  }
}

export const httpExecutor: Processor<HttpJobInput, unknown> = {
  ...HTTP_SPEC,
  async run(input, ctx) {
    const bases = executorsFor(input);
    threadPool ??= new ExecutorPool();
    // An executor that refused the connection never saw the job, so another may take it at once.
    const refused = new Set<string>();
    for (;;) {
      const lease = await threadPool.acquire(bases, refused, (base) => executorGuard(base), ctx.signal);
      if ('problems' in lease) {
        throw new HttpExecutorError(
          HttpExecutorErrorCode.NoHealthyExecutor,
          `http: no healthy executor among ${bases.length} (${lease.problems.join('; ')}${[...refused].map((b) => `; ${b}: refused the connection`).join('')}); ` +
            'the job is retried per its back-off policy',
          { unrecoverable: false },
        );
      }
      try {
        return await post(lease, input, ctx);
      } catch (err) {
        if (!isRefused(err) || ctx.signal.aborted) throw err;
        lease.markDown(`POST refused the connection`);
        refused.add(lease.base);
        ctx.log.warn('executor refused the connection; trying another', { executor: lease.base });
      } finally {
        lease.release();
      }
    }
  },
};
