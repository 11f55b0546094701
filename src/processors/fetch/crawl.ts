/**
 * `crawl`: a batch of URLs fetched concurrently, at most `concurrency` at a time. Each URL gets
 * its own result (status, bytes, error); one URL failing does not fail the batch, so the job
 * completes with what it found. Each 2xx answer can name a follow-up job.
 */
import { CodedError } from '../../errors.js';
import type { Processor } from '../contract.js';
import { decodeBody, DEFAULT_BODY_FORMAT, followUpFor, summary, type BodyEncoding, type BodyFormat, type FollowUpSpec } from './body.js';
import { errorSummary, statusError } from './errors.js';
import { getLimited } from './http-client.js';
import { checkCaps, deploymentDefault, limitsFrom } from './options.js';
import { CRAWL_SPEC } from './specs.js';

export { validateCrawl } from './specs.js';

export interface CrawlInput {
  urls: string[];
  concurrency?: number;
  timeoutMs?: number;
  maxBytes?: number;
  maxRedirects?: number;
  headers?: Record<string, string>;
  as?: BodyFormat;
  /** Default false: a batch's bodies could be large; follow-ups or fetch jobs take them on. */
  includeBody?: boolean;
  followUp?: FollowUpSpec;
}

export interface CrawlUrlResult {
  url: string;
  ok: boolean;
  status?: number;
  finalUrl?: string;
  contentType?: string | null;
  bytes?: number;
  redirects?: string[];
  durationMs?: number;
  body?: unknown;
  bodyEncoding?: BodyEncoding;
  error?: { code: string; message: string };
  /** Index of this URL's follow-up among the job's follow-ups (its id is `<job id>.<n>`). */
  followUp?: number;
}

export interface CrawlResult {
  results: CrawlUrlResult[];
  ok: number;
  failed: number;
  followUps: number;
}


export const CrawlErrorCode = { BatchTooLarge: 'CRAWL_BATCH_TOO_LARGE' } as const;

class BatchTooLargeError extends CodedError<typeof CrawlErrorCode.BatchTooLarge> {
  override name = 'InvalidInputError';
  readonly unrecoverable = true;
  constructor(message: string) {
    super(CrawlErrorCode.BatchTooLarge, message);
  }
}

export const crawlProcessor: Processor<CrawlInput, CrawlResult> = {
  ...CRAWL_SPEC,
  async run(input, ctx) {
    const maxBatch = deploymentDefault('maxBatch');
    if (input.urls.length > maxBatch) {
      throw new BatchTooLargeError(
        `crawl: data.urls has ${input.urls.length} URLs, more than the batch limit of ${maxBatch} (TROUPE_CRAWL_MAX_BATCH); split it into several jobs`,
      );
    }
    checkCaps('crawl', input as unknown as Record<string, unknown>, input.urls[0] ?? '');
    const limits = limitsFrom(input as unknown as Record<string, unknown>);
    const concurrency = Math.min(input.concurrency ?? deploymentDefault('concurrency'), input.urls.length);
    const results: CrawlUrlResult[] = new Array(input.urls.length);
    let next = 0;
    let done = 0;
    let followUps = 0;

    const one = async (index: number): Promise<void> => {
      const url = input.urls[index]!;
      try {
        const response = await getLimited(url, limits, ctx.signal);
        const entry: CrawlUrlResult = { ok: true, ...summary(response) };
        if (response.status < 200 || response.status > 299) {
          entry.ok = false;
          entry.error = errorSummary(statusError(url, response.status, response.statusText, null));
        } else {
          if (input.includeBody) {
            const as = input.as ?? DEFAULT_BODY_FORMAT;
            const { body, encoding } = decodeBody(response, as === 'bytes' ? 'auto' : as);
            entry.body = body;
            entry.bodyEncoding = encoding;
          }
          if (input.followUp) {
            ctx.followUp(followUpFor(input.followUp, response));
            entry.followUp = followUps++;
          }
        }
        results[index] = entry;
      } catch (err) {
        // The job's own abort (time limit, shutdown) ends the whole batch; anything else is this URL's.
        if (ctx.signal.aborted) throw err;
        results[index] = { url, ok: false, error: errorSummary(err) };
      }
      done += 1;
      ctx.progress({ done, total: input.urls.length });
    };

    const worker = async (): Promise<void> => {
      while (next < input.urls.length) await one(next++);
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    const ok = results.filter((r) => r.ok).length;
    return { results, ok, failed: results.length - ok, followUps };
  },
};
