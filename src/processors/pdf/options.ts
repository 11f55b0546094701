/**
 * The pdf processor's input: PDF bytes (e.g. `troupe enqueue q pdf --data-file a.pdf`), or an
 * object naming the document by `url` or `base64` with options. One defaults constant, the
 * per-deployment overrides from the environment, and one validator.
 */
import { checkHttpUrl } from '../fetch/url.js';
import { asObject, checkLimits, checkWhole, deploymentCap, describe, FETCH_CAP_ENV } from '../fetch/options.js';
import { PdfError, PdfErrorCode } from './errors.js';

export const PDF_DEFAULTS = Object.freeze({
  maxBytes: 50 * 1024 * 1024,
  maxPages: 2000,
  /** What the document's compressed streams may inflate to, all together (inflate-limit.ts). */
  maxInflatedBytes: 256 * 1024 * 1024,
  /** ... and at most this many times the document's own size, though never less than INFLATE_FLOOR_BYTES. */
  maxInflateRatio: 200,
});

export const PDF_CAPS = Object.freeze({
  maxBytes: 1024 * 1024 * 1024,
  maxPages: 100_000,
  maxInflatedBytes: 16 * 1024 * 1024 * 1024,
  maxInflateRatio: 1_000_000,
});

/** A document may always inflate this far, however small it is (a 20 KB form with one 5 MB image is normal). */
export const INFLATE_FLOOR_BYTES = 64 * 1024 * 1024;

export const PDF_ENV = Object.freeze({
  maxBytes: 'TROUPE_PDF_MAX_BYTES',
  maxPages: 'TROUPE_PDF_MAX_PAGES',
  maxInflatedBytes: 'TROUPE_PDF_MAX_INFLATED_BYTES',
  maxInflateRatio: 'TROUPE_PDF_MAX_INFLATE_RATIO',
});

/**
 * Environment variables that cap what a pdf job may ask for, for a whole deployment: a job whose
 * data asks for more fails (PDF_OVER_CAP) before anything is downloaded or parsed, and a default
 * above its cap is lowered to it. Unset, the cap is PDF_CAPS.
 */
export const PDF_CAP_ENV = Object.freeze({
  maxBytes: 'TROUPE_PDF_MAX_BYTES_CAP',
  maxPages: 'TROUPE_PDF_MAX_PAGES_CAP',
  maxInflatedBytes: 'TROUPE_PDF_MAX_INFLATED_BYTES_CAP',
  maxInflateRatio: 'TROUPE_PDF_MAX_INFLATE_RATIO_CAP',
});

type Key = keyof typeof PDF_DEFAULTS;

export const IMAGE_MODES = ['none', 'info', 'bytes'] as const;
export type ImageMode = (typeof IMAGE_MODES)[number];

export interface PdfOptions {
  /** Pages to extract, e.g. "1-3,7,10-" (1-based; "10-" runs to the end). Default: all. */
  pages?: string;
  /** Text of each page in result.pages[].text (default true). */
  perPage?: boolean;
  /** The whole document's text in result.text, pages separated by a form feed (default true). */
  text?: boolean;
  /** Join words hyphenated over a line break ("re-" / "newal" → "renewal"), as pdftotext does (default true). */
  dehyphenate?: boolean;
  /** result.metadata (default true). */
  metadata?: boolean;
  /** none (default), info (count and sizes per page) or bytes (also the decoded pixels). */
  images?: ImageMode;
  password?: string;
  /** Most bytes accepted, for bytes and URLs alike. */
  maxBytes?: number;
  /** Most pages extracted (after `pages` selects them). */
  maxPages?: number;
  /** Most bytes the document's compressed streams may inflate to, all together. */
  maxInflatedBytes?: number;
  /** Most times its own size the document may inflate to (never less than 64 MiB). */
  maxInflateRatio?: number;
  /** For `url`: the time limit of the download and its redirects. */
  timeoutMs?: number;
  maxRedirects?: number;
  headers?: Record<string, string>;
}

export type PdfInput = Uint8Array | (PdfOptions & { url: string }) | (PdfOptions & { base64: string });

const EXAMPLE = '{ "url": "https://example.com/a.pdf" } or { "base64": "JVBERi0..." }, or PDF bytes (--data-file)';
const BOOLEANS = ['perPage', 'text', 'metadata', 'dehyphenate'] as const;

export function validatePdf(input: unknown): string | undefined {
  if (input instanceof Uint8Array) return undefined;
  const data = asObject('pdf', input, EXAMPLE);
  if (typeof data === 'string') return data;
  const sources = ['url', 'base64'].filter((k) => data[k] !== undefined);
  if (sources.length !== 1) {
    return `pdf: data must name the document by exactly one of "url" or "base64", like ${EXAMPLE}; got ${sources.length === 0 ? 'neither' : 'both'}`;
  }
  if (data.url !== undefined) {
    const problem = checkHttpUrl(data.url, 'pdf: data.url') ?? checkLimits('pdf', data);
    if (problem) return problem;
  }
  if (data.base64 !== undefined && (typeof data.base64 !== 'string' || !/^[A-Za-z0-9+/\s]*={0,2}\s*$/.test(data.base64))) {
    return `pdf: data.base64 must be the document as a base64 string, got ${describe(typeof data.base64 === 'string' ? `${data.base64.slice(0, 40)}...` : data.base64)}`;
  }
  for (const key of BOOLEANS) {
    if (data[key] !== undefined && typeof data[key] !== 'boolean') return `pdf: data.${key} must be true or false, got ${describe(data[key])}`;
  }
  if (data.images !== undefined && !IMAGE_MODES.includes(data.images as ImageMode)) {
    return `pdf: data.images must be one of ${IMAGE_MODES.join(', ')}, got ${describe(data.images)}`;
  }
  if (data.password !== undefined && typeof data.password !== 'string') return `pdf: data.password must be a string, got ${describe(data.password)}`;
  if (data.pages !== undefined) {
    if (typeof data.pages !== 'string') return `pdf: data.pages must be a string like "1-3,7,10-", got ${describe(data.pages)}`;
    const parsed = parsePageRanges(data.pages);
    if (typeof parsed === 'string') return parsed;
  }
  return (
    checkWhole('pdf', data, 'maxBytes', 0, PDF_CAPS.maxBytes) ??
    checkWhole('pdf', data, 'maxPages', 1, PDF_CAPS.maxPages) ??
    checkWhole('pdf', data, 'maxInflatedBytes', 1, PDF_CAPS.maxInflatedBytes) ??
    checkWhole('pdf', data, 'maxInflateRatio', 1, PDF_CAPS.maxInflateRatio)
  );
}

export interface PageRange {
  from: number;
  /** Inclusive; undefined runs to the last page. */
  to?: number;
}

/** "1-3,7,10-" → ranges; a message for anything else. */
export function parsePageRanges(spec: string): PageRange[] | string {
  const ranges: PageRange[] = [];
  for (const part of spec.split(',').map((s) => s.trim())) {
    const m = /^(\d+)(?:\s*(-)\s*(\d*))?$/.exec(part);
    const from = m ? Number(m[1]) : NaN;
    const to = m?.[2] ? (m[3] ? Number(m[3]) : undefined) : from;
    if (!m || from < 1 || (to !== undefined && to < from)) {
      return `pdf: data.pages ${JSON.stringify(spec)} has a bad part ${JSON.stringify(part)}; use 1-based pages and ranges like "1-3,7,10-"`;
    }
    ranges.push(to === undefined ? { from } : { from, to });
  }
  return ranges;
}

/** The selected page numbers of a document with `pageCount` pages, in order, each once. */
export function selectPages(ranges: PageRange[] | undefined, pageCount: number): { pages: number[]; pastEnd: number[] } {
  if (!ranges) return { pages: Array.from({ length: pageCount }, (_, i) => i + 1), pastEnd: [] };
  const pages = new Set<number>();
  const pastEnd: number[] = [];
  for (const { from, to } of ranges) {
    if (from > pageCount) pastEnd.push(from);
    for (let p = from; p <= Math.min(to ?? pageCount, pageCount); p++) pages.add(p);
  }
  return { pages: [...pages].sort((a, b) => a - b), pastEnd };
}

function fromEnv(key: Key, name: string, fallback: number, env: NodeJS.ProcessEnv): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  const min = key === 'maxBytes' ? 0 : 1;
  if (!Number.isInteger(value) || value < min || value > PDF_CAPS[key]) {
    // Not unrecoverable: the job succeeds once the deployment's environment is fixed.
    throw new RangeError(`${name}=${JSON.stringify(raw)} must be a whole number from ${min} to ${PDF_CAPS[key]}; fix the environment of the supervisor`);
  }
  return value;
}

/** The most a job may ask for: TROUPE_PDF_*_CAP when set and valid, else PDF_CAPS. */
export function pdfCap(key: Key, env: NodeJS.ProcessEnv = process.env): number {
  return fromEnv(key, PDF_CAP_ENV[key], PDF_CAPS[key], env);
}

/** The deployment's default: TROUPE_PDF_* when set and valid, else PDF_DEFAULTS; never above the deployment's cap. */
export function pdfDefault(key: Key, env: NodeJS.ProcessEnv = process.env): number {
  return Math.min(fromEnv(key, PDF_ENV[key], PDF_DEFAULTS[key], env), pdfCap(key, env));
}

/**
 * Refuses a job that asks for more than the deployment allows: its pdf limits against
 * TROUPE_PDF_*_CAP, and for a URL its timeoutMs and maxRedirects against the fetch caps (the
 * download is a fetch). Checked when the job runs, not in validate(), so a bad cap variable is
 * the deployment's fault (retryable), not the job's.
 */
export function checkPdfCaps(options: PdfOptions & { url?: string }, env: NodeJS.ProcessEnv = process.env): void {
  const over = (key: string, asked: number, cap: number, variable: string) =>
    new PdfError(
      PdfErrorCode.OverCap,
      `pdf: data.${key} ${asked} is over this deployment's cap of ${cap} (${variable}); ask for at most ${cap}, or have the operator raise the cap`,
    );
  for (const key of Object.keys(PDF_CAP_ENV) as Key[]) {
    const asked = options[key];
    if (typeof asked !== 'number') continue;
    const cap = pdfCap(key, env);
    if (asked > cap) throw over(key, asked, cap, PDF_CAP_ENV[key]);
  }
  if (options.url === undefined) return; // timeoutMs and maxRedirects mean nothing without a download
  for (const key of ['timeoutMs', 'maxRedirects'] as const) {
    const asked = options[key];
    if (typeof asked !== 'number') continue;
    const cap = deploymentCap(key, env);
    if (asked > cap) throw over(key, asked, cap, FETCH_CAP_ENV[key]);
  }
}
