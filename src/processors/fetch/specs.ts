/**
 * What the supervisor and a thread's validate() step need of `fetch` and `crawl`: names,
 * descriptions and input checks. The HTTP client and the run() code are in fetch.ts and crawl.ts,
 * loaded on a thread's first fetch or crawl job (see ../lazy.ts).
 */
import type { ProcessorSpec } from '../lazy.js';
import { checkBodyOptions } from './body.js';
import type { CrawlInput, CrawlResult } from './crawl.js';
import type { FetchInput, FetchResult } from './fetch.js';
import { asObject, checkLimits, checkWhole, describe, FETCH_CAPS } from './options.js';
import { checkHttpUrl } from './url.js';

export function validateFetch(input: unknown): string | undefined {
  const data = asObject('fetch', input, '{ "url": "https://example.com/" }');
  if (typeof data === 'string') return data;
  return checkHttpUrl(data.url, 'fetch: data.url') ?? checkLimits('fetch', data) ?? checkBodyOptions('fetch', data);
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

export const FETCH_SPEC: ProcessorSpec<FetchInput, FetchResult | Buffer> = {
  name: 'fetch',
  description: '{ url, timeoutMs?, maxBytes?, maxRedirects?, headers?, as?, includeBody?, followUp? }: HTTP(S) GET with size, time and redirect limits',
  validate: validateFetch,
};

export const CRAWL_SPEC: ProcessorSpec<CrawlInput, CrawlResult> = {
  name: 'crawl',
  description: '{ urls, concurrency?, timeoutMs?, maxBytes?, maxRedirects?, followUp? }: fetches a batch of URLs concurrently, one result per URL',
  validate: validateCrawl,
};
