/**
 * What fetch and crawl do with a body once it has arrived: decode it as asked, and name the
 * follow-up job (for example a `wasm` or `pdf` extraction) that takes it on.
 */
import { TextDecoder } from 'node:util';
import type { FollowUpJob } from '../contract.js';
import { FetchError, FetchErrorCode } from './errors.js';
import type { HttpResponse } from './http-client.js';
import { describe } from './options.js';

export const BODY_FORMATS = ['bytes', 'text', 'json'] as const;
export type BodyFormat = (typeof BODY_FORMATS)[number];

export interface FollowUpSpec {
  processor: string;
  queue?: string;
  /** Sent as the follow-up's data; when absent, the fetched body (bytes) is the data. */
  data?: unknown;
  options?: Record<string, unknown>;
}

export function checkBodyOptions(processor: string, data: Record<string, unknown>): string | undefined {
  if (data.as !== undefined && !BODY_FORMATS.includes(data.as as BodyFormat)) {
    return `${processor}: data.as must be one of ${BODY_FORMATS.join(', ')}, got ${describe(data.as)}`;
  }
  if (data.includeBody !== undefined && typeof data.includeBody !== 'boolean') {
    return `${processor}: data.includeBody must be true or false, got ${describe(data.includeBody)}`;
  }
  return checkFollowUpSpec(processor, data.followUp);
}

function checkFollowUpSpec(processor: string, spec: unknown): string | undefined {
  if (spec === undefined) return undefined;
  const example = '{ "processor": "wasm" }';
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) {
    return `${processor}: data.followUp must be an object like ${example}, got ${describe(spec)}`;
  }
  const s = spec as Record<string, unknown>;
  if (typeof s.processor !== 'string' || s.processor === '') {
    return `${processor}: data.followUp.processor must name a processor, like ${example}, got ${describe(s.processor)}`;
  }
  if (s.queue !== undefined && (typeof s.queue !== 'string' || s.queue === '')) {
    return `${processor}: data.followUp.queue must be a queue name when given, got ${describe(s.queue)}`;
  }
  if (s.options !== undefined && (typeof s.options !== 'object' || s.options === null || Array.isArray(s.options))) {
    return `${processor}: data.followUp.options must be an object of job options when given, got ${describe(s.options)}`;
  }
  return undefined;
}

/** The charset a Content-Type names, when TextDecoder knows it; UTF-8 otherwise. */
function decoderFor(contentType: string | undefined): TextDecoder {
  const charset = /charset=["']?([\w-]+)/i.exec(contentType ?? '')?.[1];
  if (charset) {
    try {
      return new TextDecoder(charset);
    } catch (err) {
      // An unknown charset label: UTF-8 is the web's default and what most such pages really are.
      void err;
    }
  }
  return new TextDecoder('utf-8');
}

export function decodeBody(response: HttpResponse, as: BodyFormat): Buffer | string | unknown {
  if (as === 'bytes') return response.body;
  const text = decoderFor(response.headers['content-type']).decode(response.body);
  if (as === 'text') return text;
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new FetchError(FetchErrorCode.BadBody, `GET ${response.url}: the body is not valid JSON (${(err as Error).message}); use "as": "text" or "bytes"`, {
      unrecoverable: true,
      url: response.url,
      status: response.status,
    });
  }
}

export function followUpFor(spec: FollowUpSpec, response: HttpResponse): FollowUpJob {
  return {
    processor: spec.processor,
    ...(spec.queue !== undefined ? { queue: spec.queue } : {}),
    data: spec.data !== undefined ? spec.data : response.body,
    ...(spec.options !== undefined ? { options: spec.options } : {}),
  };
}

/** The fields of a response every result carries, without its body. */
export function summary(response: HttpResponse) {
  return {
    url: response.url,
    finalUrl: response.finalUrl,
    status: response.status,
    contentType: response.headers['content-type'] ?? null,
    bytes: response.body.byteLength,
    redirects: response.redirects,
    durationMs: response.durationMs,
  };
}
