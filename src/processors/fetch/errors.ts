/**
 * Errors of the limited HTTP client and the fetch and crawl processors. Callers match on `code`.
 * `unrecoverable` is set where a retry cannot help (the page is too big, the URL redirects in a
 * loop, the server answered 404); network trouble and 5xx answers stay retryable, so the job
 * follows its back-off policy.
 */
import { CodedError, type CodeOf } from '../../errors.js';
import { NetGuardErrorCode } from '../../net-guard/errors.js';

export const FetchErrorCode = {
  Timeout: 'FETCH_TIMEOUT',
  TooLarge: 'FETCH_TOO_LARGE',
  TooManyRedirects: 'FETCH_TOO_MANY_REDIRECTS',
  RedirectLoop: 'FETCH_REDIRECT_LOOP',
  BadRedirect: 'FETCH_BAD_REDIRECT',
  Network: 'FETCH_NETWORK',
  HttpStatus: 'FETCH_HTTP_STATUS',
  BadBody: 'FETCH_BAD_BODY',
  /** The job asked for more (maxBytes, timeoutMs, ...) than the deployment's cap (TROUPE_FETCH_*_CAP). */
  OverCap: 'FETCH_OVER_CAP',
  /** The URL, a redirect or what its host resolved to is not allowed (src/net-guard; a DestinationRefusedError). */
  DestinationRefused: NetGuardErrorCode.DestinationRefused,
} as const;
export type FetchErrorCode = CodeOf<typeof FetchErrorCode>;

export interface FetchErrorDetails {
  unrecoverable: boolean;
  url: string;
  status?: number;
  retryAfterMs?: number;
  cause?: unknown;
}

export class FetchError extends CodedError<FetchErrorCode> {
  override name = 'FetchError';
  readonly unrecoverable: boolean;
  readonly url: string;
  readonly status?: number;
  readonly retryAfterMs?: number;

  constructor(code: FetchErrorCode, message: string, details: FetchErrorDetails) {
    super(code, message, details.cause === undefined ? undefined : { cause: details.cause });
    this.unrecoverable = details.unrecoverable;
    this.url = details.url;
    if (details.status !== undefined) this.status = details.status;
    if (details.retryAfterMs !== undefined) this.retryAfterMs = details.retryAfterMs;
  }
}

/** Statuses worth retrying: the server may answer differently later. */
const RETRYABLE_STATUS = new Set([408, 425, 429, 500, 502, 503, 504]);

/** Retry-After as milliseconds (seconds or an HTTP date), capped at an hour so a typo cannot park a job. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const seconds = Number(value);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(value) - now;
  if (!Number.isFinite(ms)) return undefined;
  return Math.min(Math.max(0, Math.round(ms)), 3_600_000);
}

/** The error for a non-2xx answer: 4xx (but 408, 425, 429) cannot get better by asking again. */
export function statusError(url: string, status: number, statusText: string, retryAfter: string | null): FetchError {
  const retryable = RETRYABLE_STATUS.has(status) || status >= 500;
  const retryAfterMs = retryable ? parseRetryAfter(retryAfter) : undefined;
  const advice = retryable
    ? 'the server may recover; the job is retried per its back-off policy'
    : 'asking again will not help: check the URL, or the credentials in its headers';
  return new FetchError(FetchErrorCode.HttpStatus, `GET ${url} answered ${status}${statusText ? ` ${statusText}` : ''}; ${advice}`, {
    unrecoverable: !retryable,
    url,
    status,
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
  });
}

/** A short, JSON-safe description of any error, for per-URL crawl results. */
export function errorSummary(err: unknown): { code: string; message: string } {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return { code: typeof code === 'string' ? code : err.name, message: err.message };
  }
  return { code: 'ERROR', message: String(err) };
}
