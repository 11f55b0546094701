/**
 * What fetch and crawl do with a body once it has arrived: decode it as asked, and name the
 * follow-up job (for example a `wasm` or `pdf` extraction) that takes it on.
 */
import { TextDecoder } from 'node:util';
import type { FollowUpJob } from '../contract.js';
import { FetchError, FetchErrorCode } from './errors.js';
import type { HttpResponse } from './http-client.js';
import { describe } from './options.js';

/**
 * How a body appears in a result. A result is stored either as JSON or as raw bytes, never both,
 * so bytes cannot sit inside the JSON beside the status and headers: `auto` (the default) puts
 * text in for textual content types and base64 for anything else; `bytes` makes the body itself
 * the whole result (fetch only), stored raw.
 */
export const BODY_FORMATS = ['auto', 'text', 'json', 'base64', 'bytes'] as const;
export type BodyFormat = (typeof BODY_FORMATS)[number];
export const DEFAULT_BODY_FORMAT: BodyFormat = 'auto';
/** How the `body` field of a JSON result is encoded (the result's `bodyEncoding`). */
export type BodyEncoding = 'text' | 'json' | 'base64';

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

/** Media types whose bodies are text whatever their top-level type says. */
const TEXT_MEDIA_TYPES = new Set([
  'application/javascript',
  'application/ecmascript',
  'application/x-javascript',
  'application/x-www-form-urlencoded',
  'application/yaml',
  'application/x-yaml',
  'application/toml',
  'application/graphql',
  'application/sql',
]);

/**
 * Whether `auto` shows a body as text: a text/* type, JSON or XML (also `+json`, `+xml`,
 * ndjson), or a few known textual application types. Without a Content-Type, a body that is
 * valid UTF-8 is text.
 */
export function isTextual(contentType: string | undefined, body: Uint8Array): boolean {
  const media = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (media === '') {
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(body);
      return true;
    } catch (err) {
      // Not UTF-8: binary as far as anyone can tell.
      void err;
      return false;
    }
  }
  const subtype = media.slice(media.indexOf('/') + 1);
  return media.startsWith('text/') || /(^|[+.-])(nd)?(json|xml)$/.test(subtype) || TEXT_MEDIA_TYPES.has(media);
}

/** The body for a JSON result and how it is encoded there; `bytes` is the caller's (the whole result). */
export function decodeBody(response: HttpResponse, as: Exclude<BodyFormat, 'bytes'>): { body: unknown; encoding: BodyEncoding } {
  const contentType = response.headers['content-type'];
  if (as === 'base64' || (as === 'auto' && !isTextual(contentType, response.body))) {
    return { body: Buffer.from(response.body.buffer, response.body.byteOffset, response.body.byteLength).toString('base64'), encoding: 'base64' };
  }
  const text = decoderFor(contentType).decode(response.body);
  if (as !== 'json') return { body: text, encoding: 'text' };
  try {
    return { body: JSON.parse(text) as unknown, encoding: 'json' };
  } catch (err) {
    throw new FetchError(FetchErrorCode.BadBody, `GET ${response.url}: the body is not valid JSON (${(err as Error).message}); use "as": "text", "base64" or "bytes"`, {
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
