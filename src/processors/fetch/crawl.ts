/**
 * `crawl`: a batch of URLs fetched concurrently, at most `concurrency` at a time. Each URL gets
 * its own result (status, bytes, error); one URL failing does not fail the batch, so the job
 * completes with what it found. Each 2xx answer can name a follow-up job.
 */
import { CodedError } from '../../errors.js';
import type { Processor } from '../contract.js';
import { checkBodyOptions, decodeBody, DEFAULT_BODY_FORMAT, followUpFor, summary, type BodyEncoding, type BodyFormat, type FollowUpSpec } from './body.js';
import { errorSummary, statusError } from './errors.js';
import { checkHttpUrl, getLimited } from './http-client.js';
import { asObject, checkCaps, checkLimits, checkWhole, deploymentDefault, describe, FETCH_CAPS, limitsFrom } from './options.js';

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

export function validateCrawl(input: unknown): string | undefined {
  const data = asObject('crawl', input, '{ "urls": ["https://example.com/"] }');
  if (typeof data === 'string') return data;
  if (!Array.isArray(data.urls) || data.urls.length === 0) {
    return `crawl: data.urls must be a non-empty array of http(s) URLs, got ${describe(data.urls)}`;
  }
  // The deployment's batch limit is checked in run(), where a bad environment value is reported as such.
  if (data.urls.length > FETCH_CAPS.maxBatch) {
    return `crawl: data.urls has ${data.urls.length} URLs, more than the most a batch may hold (${FETCH_CAPS.maxBatch}); split it into several jobs`;
  }
  for (let i = 0; i < data.urls.length; i++) {
    const problem = checkHttpUrl(data.urls[i], `crawl: data.urls[${i}]`);
    if (problem) return problem;
  }
  if (data.as === 'bytes') {
    // One result holds every URL's entry, so it is JSON: raw bytes have no place in it.
    return 'crawl: data.as "bytes" is for fetch, whose result can be the body alone; a crawl result is JSON, so use "base64", "text" or "auto", or a followUp to hand each body on as bytes';
  }
  return checkWhole('crawl', data, 'concurrency', 1, FETCH_CAPS.concurrency) ?? checkLimits('crawl', data) ?? checkBodyOptions('crawl', data);
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
  name: 'crawl',
  description: '{ urls, concurrency?, timeoutMs?, maxBytes?, maxRedirects?, followUp? }: fetches a batch of URLs concurrently, one result per URL',
  validate: validateCrawl,
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
