/**
 * A GET with limits, shared by the fetch, crawl and pdf processors: a time limit for the whole
 * exchange (headers and body), a byte limit checked while the body streams (never buffered past
 * it), redirects followed by hand so they are counted, loops are named, and a redirect to a
 * non-HTTP scheme is refused, and every hop checked against the deployment's network policy
 * (src/net-guard): the host before the request, what it resolves to when the socket connects.
 *
 * Built on node:http(s) rather than fetch, because only there can the socket's address lookup be
 * ours (fetch's dispatcher is not reachable from Node 20 without the undici package). Bodies in
 * gzip, deflate or br are decoded on the fly, so maxBytes bounds the decoded body: the memory the
 * job really uses, which is what a compression bomb attacks.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { pipeline, type Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { checkHop, refusalIn, threadPolicy, type Hop, type NetGuard } from '../../net-guard/index.js';
import { FetchError, FetchErrorCode } from './errors.js';

export { checkHttpUrl } from './url.js';

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


/** One connection pool per protocol and thread, as fetch had: a crawl of one site reuses its connections. */
const agents = { 'http:': new HttpAgent({ keepAlive: true }), 'https:': new HttpsAgent({ keepAlive: true }) };

/** What fetch sent by default; a job's own headers (any letter case) replace them. */
const DEFAULT_HEADERS: Readonly<Record<string, string>> = { accept: '*/*', 'accept-encoding': 'gzip, deflate, br', 'user-agent': 'troupe' };

function requestHeaders(given: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = { ...DEFAULT_HEADERS };
  for (const [name, value] of Object.entries(given ?? {})) out[name.toLowerCase()] = value;
  return out;
}

function headersOf(response: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(response.headers)) {
    if (value !== undefined) out[key] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

/** A failure on a kept-alive connection before any answer: the server closed it while idle, so one retry is safe (GET). */
class StaleConnection {
  constructor(readonly cause: unknown) {}
}

function send(url: URL, headers: Record<string, string>, signal: AbortSignal, hop: Hop): Promise<IncomingMessage> {
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', headers, agent: agents[url.protocol as 'http:' | 'https:'], signal, ...(hop.lookup ? { lookup: hop.lookup } : {}) }, resolve);
    req.on('error', (err: NodeJS.ErrnoException) => {
      reject(req.reusedSocket && (err.code === 'ECONNRESET' || err.code === 'EPIPE') ? new StaleConnection(err) : err);
    });
    req.end();
  });
}

/** The body as sent, decoded from its Content-Encoding (gzip, deflate, br; others are left as they are, as fetch did). */
function decoded(response: IncomingMessage): Readable {
  const codings = (response.headers['content-encoding'] ?? '')
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== '' && c !== 'identity');
  const decoders = codings.reverse().map((c) => (c === 'br' ? createBrotliDecompress() : c === 'deflate' ? createInflate() : c === 'gzip' || c === 'x-gzip' ? createGunzip() : undefined));
  if (decoders.length === 0 || decoders.includes(undefined)) return response;
  // pipeline destroys every stage when one fails or the reader stops, the response included.
  return (pipeline as (...streams: Array<Readable | NodeJS.WritableStream | ((err: unknown) => void)>) => Readable)(response, ...(decoders as NodeJS.ReadWriteStream[]), () => {});
}

export async function readLimited(response: IncomingMessage, url: string, maxBytes: number): Promise<Buffer> {
  const declared = Number(response.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    response.destroy();
    throw tooLarge(url, maxBytes, `it declares ${declared} bytes`);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  const body = decoded(response);
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      total += chunk.byteLength;
      if (total > maxBytes) throw tooLarge(url, maxBytes, `it sent more than that`);
      chunks.push(chunk);
    }
  } finally {
    // Leaving early (too large, an error) drops the connection instead of reading the rest.
    if (!response.complete) response.destroy();
  }
  return Buffer.concat(chunks, total);
}

function tooLarge(url: string, maxBytes: number, why: string): FetchError {
  return new FetchError(FetchErrorCode.TooLarge, `GET ${url}: the body is over the limit of ${maxBytes} bytes (${why}); raise maxBytes if this size is expected`, {
    unrecoverable: true,
    url,
  });
}

/** The guard of the calling thread (the supervisor's allow-list) unless one is given. */
function guardOf(given: NetGuard | undefined): NetGuard {
  return given ?? { policy: threadPolicy() };
}

/**
 * GETs `url` within the limits; answers any status (callers decide what a 404 means), and
 * throws FetchError for a timeout, a size over the limit, redirect trouble or a network failure,
 * and DestinationRefusedError (FETCH_DESTINATION_REFUSED) for a hop the network policy refuses.
 * When `signal` (the job's) aborts, its reason is thrown as is, so the runtime reports the job's
 * own timeout rather than this request's.
 */
export async function getLimited(url: string, limits: HttpLimits, signal?: AbortSignal, netGuard?: NetGuard): Promise<HttpResponse> {
  const guard = guardOf(netGuard);
  const started = performance.now();
  const timeout = new AbortController();
  const timer = setTimeout(
    () => timeout.abort(new FetchError(FetchErrorCode.Timeout, `GET ${url} took longer than ${limits.timeoutMs} ms; raise timeoutMs, or the server is too slow`, { unrecoverable: false, url })),
    limits.timeoutMs,
  );
  const combined = signal ? AbortSignal.any([signal, timeout.signal]) : timeout.signal;
  const headers = requestHeaders(limits.headers);
  const redirects: string[] = [];
  const seen = new Set<string>([url]);
  let current = url;
  try {
    for (let retried = false; ; ) {
      const target = new URL(current);
      const hop = checkHop(guard, target, `GET ${current}`);
      let response: IncomingMessage;
      try {
        response = await send(target, headers, combined, hop);
      } catch (err) {
        if (err instanceof StaleConnection && !retried) {
          retried = true;
          continue;
        }
        throw err instanceof StaleConnection ? err.cause : err;
      }
      retried = false;
      const status = response.statusCode ?? 0;
      if (REDIRECT_STATUS.has(status)) {
        response.destroy();
        current = nextHop(url, current, status, response.headers.location, redirects, seen, limits.maxRedirects);
        continue;
      }
      const body = await readLimited(response, url, limits.maxBytes);
      return {
        url,
        finalUrl: current,
        status,
        statusText: response.statusMessage ?? '',
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
    const refused = refusalIn(err);
    if (refused) throw refused;
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

function nextHop(url: string, current: string, status: number, location: string | undefined, redirects: string[], seen: Set<string>, maxRedirects: number): string {
  const fail = (code: FetchErrorCode, message: string): never => {
    throw new FetchError(code, message, { unrecoverable: true, url, status });
  };
  if (!location) return fail(FetchErrorCode.BadRedirect, `GET ${current} answered ${status} without a Location header; the server is misconfigured`);
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
