/**
 * One HTTP server for every Troupe endpoint, with the rules of http-guard.ts applied before any
 * handler runs, so no route can forget them:
 *   1. GET, HEAD and POST only (405 otherwise);
 *   2. with a token set, every path but the open ones needs it (401; browsers get a login form);
 *   3. a POST from another site is refused (403);
 * and, before all three, admission: at most maxConcurrent requests handled per turn of the event
 * loop, a bounded number waiting for the next turns, and 503 with Retry-After beyond that, so a
 * flood of requests costs the loop, which renews leases, a bounded amount of work between timers;
 * then the handlers are asked in order, and the first reply wins (404 when none answers).
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError } from './config.js';
import { crossSiteProblem, exposureProblem, hasToken, isToken, SECURITY_HEADERS, SESSION_COOKIE, sessionValue, tokenId } from './http-guard.js';
import type { Logger } from './logger.js';

export interface HttpRequest {
  method: 'GET' | 'HEAD' | 'POST';
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** Who is asking, for logs: the token's id, or "anonymous" where no token is set (loopback only). */
  who: string;
  remote: string;
  /** A browser asked (Accept names text/html): errors come back as pages, not JSON. */
  wantsHtml: boolean;
  /** POST fields: a form (urlencoded) or a JSON object, as strings. At most MAX_BODY_BYTES. */
  form(): Promise<URLSearchParams>;
}

export interface Reply {
  status: number;
  type: string;
  body: string | Buffer;
  headers?: Record<string, string>;
}

export type Handler = (req: HttpRequest) => Promise<Reply | undefined> | Reply | undefined;

/** Forms and JSON bodies of the dashboard are small; anything bigger is refused unread. */
export const MAX_BODY_BYTES = 64 * 1024;

export const jsonReply = (status: number, value: unknown, headers?: Record<string, string>): Reply => ({
  status,
  type: 'application/json; charset=utf-8',
  body: `${JSON.stringify(value, null, 2)}\n`,
  ...(headers ? { headers } : {}),
});

export const htmlReply = (status: number, body: string, headers?: Record<string, string>): Reply => ({ status, type: 'text/html; charset=utf-8', body, ...(headers ? { headers } : {}) });

/** A POST-only route asked with GET: 405 with the method it takes. */
export const postOnly = (path: string): Reply => jsonReply(405, { error: `${path} changes state and takes POST only` }, { allow: 'POST' });

export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** Only paths of this server: "//evil.example" or "https://..." would send the browser elsewhere. */
export function safeNext(next: string | null | undefined): string {
  return next && next.startsWith('/') && !next.startsWith('//') && !next.includes('\\') ? next : '/';
}

export interface HttpServerOptions {
  /** For messages: "the HTTP endpoint", "the dashboard". */
  what: string;
  host: string;
  port: number;
  /** '' = none (then the host must be loopback). */
  token: string;
  logger: Logger;
  handlers: readonly Handler[];
  /** Paths served without the token (probes, scrapes, the API description). */
  isOpen(path: string): boolean;
  /** The login page (HTML) for a browser without the session cookie. */
  loginPage?(next: string, problem?: string): string;
  /**
   * Requests handled at once; none = no cap. A request holds its slot until its response is
   * done and the event loop has turned once more (setImmediate), so requests that finish at once
   * (a cached /metrics) are still at most this many per turn: timers, lease renewal among them,
   * run between each batch.
   */
  maxConcurrent?: number;
  /** Paths that get PROBE_SLOTS beyond maxConcurrent (the liveness and readiness probes). */
  isProbe?(path: string): boolean;
  /** Called for each request refused by the cap (a counter for /metrics). */
  onRefused?(): void;
}

/**
 * Slots beyond the cap that only probes may take: a flood of scrapes or page loads must not
 * make the kubelet's /health fail and restart a supervisor that is working.
 */
export const PROBE_SLOTS = 4;
/** Requests that may wait for a slot, per slot; past maxConcurrent × this, 503. */
export const WAITING_PER_SLOT = 4;
/** What a refused request is told: try again in a second. */
export const RETRY_AFTER_SECONDS = 1;
/** At most one warning about refused requests per this long, with the count since the last. */
const REFUSAL_LOG_EVERY_MS = 60_000;

interface Waiting {
  req: IncomingMessage;
  res: ServerResponse;
  /** The client hung up while it waited: skipped, never handled. */
  gone: boolean;
}

class BodyTooLarge extends Error {}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new BodyTooLarge(`request body over ${MAX_BODY_BYTES} bytes`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseForm(body: string, type: string | undefined): URLSearchParams {
  if (type?.startsWith('application/json')) {
    if (body.trim() === '') return new URLSearchParams();
    const value = JSON.parse(body) as unknown;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new SyntaxError('the JSON body must be an object');
    return new URLSearchParams(Object.entries(value as Record<string, unknown>).map(([k, v]): [string, string] => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
  }
  return new URLSearchParams(body);
}

function defaultLoginPage(next: string, problem?: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Troupe: token needed</title></head><body>
<h1>Troupe</h1><p>This endpoint needs its token (<code>--http-token</code>).</p>${problem ? `<p><strong>${escapeHtml(problem)}</strong></p>` : ''}
<form method="post" action="/login"><input type="hidden" name="next" value="${escapeHtml(next)}">
<label>Token <input type="password" name="token" autocomplete="current-password" required></label> <button type="submit">Sign in</button></form></body></html>\n`;
}

export class GuardedHttpServer {
  private server: Server | undefined;
  private readonly who: string;
  /** Requests holding a slot (being handled, or done in this turn of the loop). */
  private active = 0;
  private readonly waiting: Waiting[] = [];
  private refusedSinceLog = 0;
  private lastRefusalLog = 0;

  constructor(private readonly options: HttpServerOptions) {
    this.who = options.token ? tokenId(options.token) : 'anonymous';
  }

  get address(): { host: string; port: number } | undefined {
    const a = this.server?.address() as AddressInfo | null | undefined;
    return a ? { host: a.address, port: a.port } : undefined;
  }

  get url(): string | undefined {
    const a = this.address;
    return a ? `http://${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}` : undefined;
  }

  /** Refuses an exposed host without a token (ConfigError); rejects with the listen error (EADDRINUSE, ...). */
  async listen(): Promise<void> {
    const { host, port, token, what } = this.options;
    const problem = exposureProblem(host, token, what);
    if (problem) throw new ConfigError(problem);
    const server = createServer((req, res) => this.admit(req, res));
    // Pages and probes are short; a client that hangs up half-way must not hold a socket.
    server.requestTimeout = 10_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => this.options.logger.warn({ err }, `${what}: server error`));
    this.server = server;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    // Keep-alive connections (a scraper, a browser tab) would hold close() open until they time out.
    server.closeAllConnections();
    await closed;
  }

  /** Admission: a slot now, a place in the queue, or 503 with Retry-After (see maxConcurrent). */
  private admit(req: IncomingMessage, res: ServerResponse): void {
    const { maxConcurrent } = this.options;
    if (maxConcurrent === undefined) {
      void this.handle(req, res);
      return;
    }
    // First come, first served: a new request takes a free slot only when nobody waits for one,
    // except a probe, which has slots of its own beyond the cap.
    if (this.active < maxConcurrent && this.waiting.length === 0) return this.start(req, res);
    if (this.active < maxConcurrent + PROBE_SLOTS && this.isProbe(req)) return this.start(req, res);
    if (this.waiting.length < maxConcurrent * WAITING_PER_SLOT) {
      const entry: Waiting = { req, res, gone: false };
      res.once('close', () => (entry.gone = true));
      this.waiting.push(entry);
      return;
    }
    this.refuse(req, res, maxConcurrent);
  }

  private isProbe(req: IncomingMessage): boolean {
    const isProbe = this.options.isProbe;
    if (!isProbe) return false;
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    return isProbe(q < 0 ? url : url.slice(0, q));
  }

  private start(req: IncomingMessage, res: ServerResponse): void {
    this.active += 1;
    // 'close' comes once per response, sent or cut off (a client that hung up frees its slot too).
    // The slot is given back a turn later, so the next batch waits for timers and I/O to run.
    res.once('close', () =>
      setImmediate(() => {
        this.active -= 1;
        this.next();
      }),
    );
    void this.handle(req, res);
  }

  private next(): void {
    const max = this.options.maxConcurrent ?? Infinity;
    while (this.active < max && this.waiting.length > 0) {
      const entry = this.waiting.shift()!;
      if (!entry.gone) this.start(entry.req, entry.res);
    }
  }

  /**
   * Over the cap and the queue: 503 with Retry-After, decided before the URL is parsed or a
   * token checked, so a refused request costs little more than node's header parsing.
   */
  private refuse(req: IncomingMessage, res: ServerResponse, maxConcurrent: number): void {
    this.options.onRefused?.();
    this.refusedSinceLog += 1;
    const now = Date.now();
    if (now - this.lastRefusalLog >= REFUSAL_LOG_EVERY_MS) {
      this.options.logger.warn(
        { active: this.active, waiting: this.waiting.length, maxConcurrent, refused: this.refusedSinceLog },
        `${this.options.what}: ${this.active} requests handled and ${this.waiting.length} waiting, refusing more with 503 (--http-max-concurrent ${maxConcurrent}); logged at most once a minute`,
      );
      this.lastRefusalLog = now;
      this.refusedSinceLog = 0;
    }
    const reply = jsonReply(503, { error: `busy: ${maxConcurrent} requests handled and ${this.waiting.length} waiting (--http-max-concurrent); retry in ${RETRY_AFTER_SECONDS} s` });
    res.writeHead(503, { ...SECURITY_HEADERS, 'content-type': reply.type, 'retry-after': String(RETRY_AFTER_SECONDS) });
    res.end(req.method === 'HEAD' ? undefined : reply.body);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let reply: Reply;
    try {
      reply = await this.route(req);
    } catch (err) {
      if (err instanceof BodyTooLarge) reply = jsonReply(413, { error: err.message });
      else if (err instanceof SyntaxError) reply = jsonReply(400, { error: `the request body is not valid: ${err.message}` });
      else {
        this.options.logger.warn({ err, url: req.url }, `${this.options.what}: request failed`);
        reply = jsonReply(500, { error: err instanceof Error ? err.message : String(err) });
      }
    }
    res.writeHead(reply.status, { ...SECURITY_HEADERS, 'content-type': reply.type, ...reply.headers });
    res.end(req.method === 'HEAD' ? undefined : reply.body);
  }

  private async route(raw: IncomingMessage): Promise<Reply> {
    const url = new URL(raw.url ?? '/', 'http://localhost');
    const method = raw.method ?? 'GET';
    if (method !== 'GET' && method !== 'HEAD' && method !== 'POST') {
      return jsonReply(405, { error: `${method} is not supported; use GET (POST for actions)` }, { allow: 'GET, HEAD, POST' });
    }
    const { token, logger, what } = this.options;
    let body: Promise<URLSearchParams> | undefined;
    const req: HttpRequest = {
      method,
      path: url.pathname,
      query: url.searchParams,
      headers: raw.headers,
      who: this.who,
      remote: raw.socket.remoteAddress ?? '',
      wantsHtml: (raw.headers.accept ?? '').includes('text/html'),
      form: () => (body ??= method === 'POST' ? readBody(raw).then((text) => parseForm(text, raw.headers['content-type'])) : Promise.resolve(new URLSearchParams())),
    };
    if (method === 'POST') {
      const crossSite = crossSiteProblem(raw.headers);
      if (crossSite) {
        logger.warn({ who: 'unknown', remote: req.remote, path: req.path, reason: crossSite }, `${what}: cross-site POST refused`);
        return jsonReply(403, { error: `cross-site request refused: ${crossSite}; actions are taken from this server's own pages or by clients that send the token` });
      }
    }
    if (req.path === '/login') return this.login(req);
    if (token && !this.options.isOpen(req.path) && !hasToken(raw.headers, token)) {
      if (method === 'POST') logger.warn({ who: 'unknown', remote: req.remote, path: req.path }, `${what}: POST without the token refused`);
      const headers = { 'www-authenticate': 'Bearer realm="troupe"' };
      if (req.wantsHtml && method !== 'POST') return htmlReply(401, this.loginPage(`${url.pathname}${url.search}`), headers);
      return jsonReply(401, { error: 'this endpoint needs its token: send "Authorization: Bearer <token>" (the value of --http-token)' }, headers);
    }
    for (const handler of this.options.handlers) {
      const reply = await handler(req);
      if (reply) return reply;
    }
    return jsonReply(404, { error: `no such endpoint: ${req.path}` });
  }

  private loginPage(next: string, problem?: string): string {
    return (this.options.loginPage ?? defaultLoginPage)(safeNext(next), problem);
  }

  /** The browser's way in: the token typed once, then a cookie derived from it (HttpOnly, SameSite=Strict). */
  private async login(req: HttpRequest): Promise<Reply> {
    const { token, logger, what } = this.options;
    const next = safeNext(req.query.get('next'));
    if (!token) return { status: 303, type: 'text/plain', body: '', headers: { location: next } };
    if (req.method !== 'POST') return htmlReply(200, this.loginPage(next));
    const form = await req.form();
    const target = safeNext(form.get('next'));
    if (!isToken(form.get('token') ?? '', token)) {
      logger.warn({ who: 'unknown', remote: req.remote }, `${what}: sign-in with a wrong token refused`);
      return htmlReply(401, this.loginPage(target, 'That is not the token.'));
    }
    logger.info({ who: this.who, remote: req.remote }, `${what}: signed in`);
    return {
      status: 303,
      type: 'text/plain',
      body: '',
      headers: { location: target, 'set-cookie': `${SESSION_COOKIE}=${sessionValue(token)}; HttpOnly; SameSite=Strict; Path=/` },
    };
  }
}
