/**
 * A GET with limits, shared by the fetch, crawl and pdf processors: a time limit for the whole
 * exchange (headers and body), a byte limit checked while the body streams (never buffered past
 * it), and redirects followed by hand so they are counted, loops are named, and a redirect to a
 * non-HTTP scheme is refused.
 *
 * Built on Node's fetch (undici). It decompresses gzip/br on the fly, so maxBytes bounds the
 * decoded body: the memory the job really uses, which is what a compression bomb attacks.
 */
import { FetchError, FetchErrorCode } from './errors.js';

export interface HttpLimits {
  /** Whole exchange, redirects and body included. */
  timeoutMs: number;
  /** Most body bytes accepted (after decompression). */
  maxBytes: number;
  /** Most redirects followed; 0 refuses any redirect. */
  maxRedirects: number;
  headers?: Record<string, string>;
}

export interface HttpResponse {
  /** As asked for. */
  url: string;
  /** After redirects. */
  finalUrl: string;
  status: number;
  statusText: string;
  headers: Record<string, string>;
  body: Buffer;
  /** Every URL redirected to, in order. */
  redirects: string[];
  durationMs: number;
}

const REDIRECT_STATUS = new Set([301, 302, 303, 307, 308]);

/** Error codes of a connection that failed before or while talking: worth another try later. */
function networkCode(err: unknown): string | undefined {
  let cur: unknown = err;
  for (let depth = 0; depth < 4 && typeof cur === 'object' && cur !== null; depth++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Parses and checks a URL; a message names the problem, for validators. */
export function checkHttpUrl(value: unknown, field: string): string | undefined {
  if (typeof value !== 'string' || value === '') return `${field} must be an http(s) URL string, got ${JSON.stringify(value) ?? String(value)}`;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    // The URL constructor's own message adds nothing: say what a good value looks like instead.
    return `${field} is not a valid URL: ${JSON.stringify(value)} (expected e.g. "https://example.com/file.pdf")`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return `${field} must use http or https, got ${JSON.stringify(url.protocol.slice(0, -1))} in ${JSON.stringify(value)}`;
  }
  return undefined;
}

function headersOf(response: Response): Record<string, string> {
  const out: Record<string, string> = {};
  response.headers.forEach((value, key) => {
    out[key] = value;
  });
  return out;
}

async function discard(cancel: (() => Promise<void>) | undefined): Promise<void> {
  try {
    await cancel?.();
  } catch (err) {
    // The body of an answer we are leaving (a redirect, a refused size) may already be broken;
    // nothing depends on it, and the connection is dropped either way.
    void err;
  }
}

export async function readLimited(response: Response, url: string, maxBytes: number): Promise<Buffer> {
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await discard(() => response.body?.cancel() ?? Promise.resolve());
    throw tooLarge(url, maxBytes, `it declares ${declared} bytes`);
  }
  if (!response.body) return Buffer.alloc(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await discard(() => reader.cancel());
      throw tooLarge(url, maxBytes, `it sent more than that`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, total);
}

function tooLarge(url: string, maxBytes: number, why: string): FetchError {
  return new FetchError(FetchErrorCode.TooLarge, `GET ${url}: the body is over the limit of ${maxBytes} bytes (${why}); raise maxBytes if this size is expected`, {
    unrecoverable: true,
    url,
  });
}

/**
 * GETs `url` within the limits; answers any status (callers decide what a 404 means), and
 * throws FetchError for a timeout, a size over the limit, redirect trouble or a network failure.
 * When `signal` (the job's) aborts, its reason is thrown as is, so the runtime reports the job's
 * own timeout rather than this request's.
 */
export async function getLimited(url: string, limits: HttpLimits, signal?: AbortSignal): Promise<HttpResponse> {
  const started = performance.now();
  const timeout = new AbortController();
  const timer = setTimeout(
    () => timeout.abort(new FetchError(FetchErrorCode.Timeout, `GET ${url} took longer than ${limits.timeoutMs} ms; raise timeoutMs, or the server is too slow`, { unrecoverable: false, url })),
    limits.timeoutMs,
  );
  const combined = signal ? AbortSignal.any([signal, timeout.signal]) : timeout.signal;
  const redirects: string[] = [];
  const seen = new Set<string>([url]);
  let current = url;
  try {
    for (;;) {
      const response = await fetch(current, { method: 'GET', redirect: 'manual', headers: limits.headers ?? {}, signal: combined });
      if (REDIRECT_STATUS.has(response.status)) {
        current = nextHop(url, current, response, redirects, seen, limits.maxRedirects);
        await discard(() => response.body?.cancel() ?? Promise.resolve());
        continue;
      }
      const body = await readLimited(response, url, limits.maxBytes);
      return {
        url,
        finalUrl: current,
        status: response.status,
        statusText: response.statusText,
        headers: headersOf(response),
        body,
        redirects,
        durationMs: Math.round(performance.now() - started),
      };
    }
  } catch (err) {
    if (signal?.aborted) throw signal.reason;
    if (timeout.signal.aborted) throw timeout.signal.reason;
    if (err instanceof FetchError) throw err;
    const code = networkCode(err) ?? 'unknown';
    throw new FetchError(FetchErrorCode.Network, `GET ${current} failed before an answer arrived (${code}: ${(err as Error).message}); the job is retried per its back-off policy`, {
      unrecoverable: false,
      url,
      cause: err,
    });
  } finally {
    clearTimeout(timer);
  }
}

function nextHop(url: string, current: string, response: Response, redirects: string[], seen: Set<string>, maxRedirects: number): string {
  const location = response.headers.get('location');
  const fail = (code: FetchErrorCode, message: string): never => {
    throw new FetchError(code, message, { unrecoverable: true, url, status: response.status });
  };
  if (!location) return fail(FetchErrorCode.BadRedirect, `GET ${current} answered ${response.status} without a Location header; the server is misconfigured`);
  let next: URL;
  try {
    next = new URL(location, current);
  } catch {
    // Only the bad Location matters to the user; the parser's message would not add to it.
    return fail(FetchErrorCode.BadRedirect, `GET ${current} redirected to an invalid URL ${JSON.stringify(location)}`);
  }
  if (next.protocol !== 'http:' && next.protocol !== 'https:') {
    return fail(FetchErrorCode.BadRedirect, `GET ${current} redirected to ${next.href}; only http and https redirects are followed`);
  }
  const hop = next.href;
  if (seen.has(hop)) {
    return fail(FetchErrorCode.RedirectLoop, `GET ${url} redirects in a loop: ${[url, ...redirects, hop].join(' -> ')}; fix the server or the URL`);
  }
  if (redirects.length >= maxRedirects) {
    return fail(
      FetchErrorCode.TooManyRedirects,
      `GET ${url} redirected more than maxRedirects (${maxRedirects}) times: ${[url, ...redirects, hop].join(' -> ')}; raise maxRedirects or use the final URL`,
    );
  }
  redirects.push(hop);
  seen.add(hop);
  return hop;
}
