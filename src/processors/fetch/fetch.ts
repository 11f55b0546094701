/**
 * `fetch`: one HTTP(S) GET with size and time limits and bounded redirects. A non-2xx answer
 * fails the job (4xx unrecoverable, 5xx and 408/429 retryable, honouring Retry-After). The
 * result can name a follow-up job that takes the body on, e.g. crawl then extract.
 */
import type { Processor } from '../contract.js';
import { decodeBody, DEFAULT_BODY_FORMAT, followUpFor, summary, type BodyEncoding, type BodyFormat, type FollowUpSpec } from './body.js';
import { statusError } from './errors.js';
import { getLimited } from './http-client.js';
import { checkCaps, limitsFrom } from './options.js';
import { FETCH_SPEC } from './specs.js';

export { validateFetch } from './specs.js';

export interface FetchInput {
  url: string;
  timeoutMs?: number;
  maxBytes?: number;
  maxRedirects?: number;
  headers?: Record<string, string>;
  /**
   * How the body appears in the result: auto (default: text for textual content types, base64
   * otherwise), text, parsed JSON, base64, or bytes (the body itself is the whole result).
   */
  as?: BodyFormat;
  /** Default: true, unless a followUp takes the body on (then the body is not stored twice). */
  includeBody?: boolean;
  followUp?: FollowUpSpec;
}

export interface FetchResult {
  url: string;
  finalUrl: string;
  status: number;
  contentType: string | null;
  bytes: number;
  redirects: string[];
  durationMs: number;
  headers: Record<string, string>;
  body?: unknown;
  /** How `body` is encoded: text, json (parsed) or base64. */
  bodyEncoding?: BodyEncoding;
  followUp?: { processor: string; queue?: string };
}


/** With `as: "bytes"` the result is the body's raw bytes alone; otherwise the JSON summary. */
export const fetchProcessor: Processor<FetchInput, FetchResult | Buffer> = {
  ...FETCH_SPEC,
  async run(input, ctx) {
    checkCaps('fetch', input as unknown as Record<string, unknown>, input.url);
    const limits = limitsFrom(input as unknown as Record<string, unknown>);
    const response = await getLimited(input.url, limits, ctx.signal);
    if (response.status < 200 || response.status > 299) {
      throw statusError(response.url, response.status, response.statusText, response.headers['retry-after'] ?? null);
    }
    if (input.followUp) ctx.followUp(followUpFor(input.followUp, response));
    const as = input.as ?? DEFAULT_BODY_FORMAT;
    const withBody = input.includeBody ?? input.followUp === undefined;
    // A stored result is JSON or raw bytes, not both: the bytes go alone, as they came.
    if (withBody && as === 'bytes') return response.body;
    const result: FetchResult = { ...summary(response), headers: response.headers };
    if (withBody) {
      const { body, encoding } = decodeBody(response, as === 'bytes' ? 'auto' : as);
      result.body = body;
      result.bodyEncoding = encoding;
    }
    if (input.followUp) {
      result.followUp = { processor: input.followUp.processor, ...(input.followUp.queue ? { queue: input.followUp.queue } : {}) };
    }
    return result;
  },
};
