import { describeTopology, parseRedisUrl, redactRedisUrl } from '../queue/redis-url.js';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { hostname } from 'node:os';
import type { AddressInfo } from 'node:net';
import { PROMETHEUS_CONTENT_TYPE } from '../metrics/prometheus.js';
import type { SupervisorConfig } from './config.js';
import { checkHealth } from './health.js';
import { MetricsService } from './metrics-service.js';
import { openApiDocument } from './openapi.js';
import type { ServiceContext, ServiceFactory, SupervisorService } from './service.js';

/** /status lists this many in-flight jobs (oldest first); `count` has the full number. */
const MAX_LISTED_JOBS = 100;

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch (err) {
    // Only the OpenAPI document's info.version depends on it; the endpoint works without.
    return `unknown (${err instanceof Error ? err.message : String(err)})`;
  }
}

interface Reply {
  status: number;
  type: string;
  body: string;
}

const jsonReply = (status: number, value: unknown): Reply => ({ status, type: 'application/json; charset=utf-8', body: `${JSON.stringify(value, null, 2)}\n` });

/**
 * /metrics, /health, /ready, /status and /openapi.json on --http-host:--http-port. A port that
 * is taken (another supervisor on this machine, most often) is a warning, not a failed start:
 * the jobs matter more than this process's endpoint, and `troupe stats` still sees its metrics
 * through Redis.
 */
export class HttpService implements SupervisorService {
  readonly name = 'http';
  private server: Server | undefined;
  private version: string | undefined;

  constructor(
    private readonly ctx: ServiceContext,
    private readonly metrics: MetricsService,
  ) {}

  /** Where it listens, or undefined when it does not (port taken, or not started). */
  get address(): { host: string; port: number } | undefined {
    const a = this.server?.address() as AddressInfo | null | undefined;
    return a ? { host: a.address, port: a.port } : undefined;
  }

  async start(): Promise<void> {
    const { httpHost: host, httpPort: port } = this.ctx.config;
    const server = createServer((req, res) => void this.handle(req, res));
    // Scrapes and probes are short; a client that hangs up half-way must not hold a socket.
    server.requestTimeout = 10_000;
    const listening = await new Promise<boolean>((resolve) => {
      server.once('error', (err: NodeJS.ErrnoException) => {
        const hint = err.code === 'EADDRINUSE' ? 'another process uses it; give this supervisor its own --http-port, or 0 to turn HTTP off' : 'check --http-host and --http-port';
        this.ctx.logger.warn({ err, host, port }, `HTTP endpoint not started: ${err.code ?? err.message} on ${host}:${port} (${hint}); jobs run as usual`);
        resolve(false);
      });
      server.listen(port, host, () => resolve(true));
    });
    if (!listening) return;
    server.on('error', (err) => this.ctx.logger.warn({ err }, 'HTTP endpoint error'));
    this.server = server;
    this.ctx.logger.info({ host, port: this.address?.port }, `HTTP endpoint on http://${host.includes(':') ? `[${host}]` : host}:${this.address?.port}/metrics`);
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    // Keep-alive connections of a scraper would hold close() open until they time out.
    server.closeAllConnections();
    await closed;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let reply: Reply;
    try {
      reply = await this.route(req);
    } catch (err) {
      this.ctx.logger.warn({ err, url: req.url }, 'HTTP request failed');
      reply = jsonReply(500, { error: err instanceof Error ? err.message : String(err) });
    }
    res.writeHead(reply.status, { 'content-type': reply.type, 'cache-control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : reply.body);
  }

  private async route(req: IncomingMessage): Promise<Reply> {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (req.method !== 'GET' && req.method !== 'HEAD') return jsonReply(405, { error: `${req.method} is not supported; use GET` });
    switch (path) {
      case '/metrics':
        return { status: 200, type: PROMETHEUS_CONTENT_TYPE, body: this.metrics.prometheus() };
      case '/health': {
        const health = await checkHealth(this.ctx, this.metrics.loopLag.lagMs);
        return jsonReply(health.status === 'ok' ? 200 : 503, health);
      }
      case '/ready': {
        const health = await checkHealth(this.ctx, this.metrics.loopLag.lagMs);
        const shuttingDown = this.ctx.status().shuttingDown;
        if (shuttingDown) health.reasons.push('supervisor: shutting down, no longer leasing');
        const ready = health.reasons.length === 0;
        return jsonReply(ready ? 200 : 503, { ...health, status: ready ? 'ok' : 'unhealthy', shuttingDown });
      }
      case '/status':
        return jsonReply(200, this.status());
      case '/openapi.json':
        this.version ??= packageVersion();
        return jsonReply(200, openApiDocument(this.version));
      default:
        return jsonReply(404, { error: `no such endpoint: ${path}`, endpoints: ['/metrics', '/health', '/ready', '/status', '/openapi.json'] });
    }
  }

  private status(): object {
    const s = this.ctx.status();
    const now = Date.now();
    const snapshot = this.metrics.snapshot(now);
    const jobs = [...s.inFlight]
      .sort((a, b) => b.heldMs - a.heldMs)
      .slice(0, MAX_LISTED_JOBS)
      .map((j) => ({ id: j.id, queue: j.queue, processor: j.processor, attempt: j.attempt, state: j.state, ageMs: j.heldMs }));
    const queues = Object.fromEntries(Object.entries(snapshot.queues).map(([name, q]) => [name, { ...q, depthAt: this.metrics.depthsAt || null }]));
    return {
      supervisor: {
        id: s.id,
        host: hostname(),
        pid: process.pid,
        startedAt: s.startedAt,
        uptimeSeconds: Math.round((now - s.startedAt) / 100) / 10,
        queues: s.queues,
        shuttingDown: s.shuttingDown,
        // Which Redis, never with its password: operators ask "which cluster is this on?".
        redis: { url: redactRedisUrl(this.ctx.config.redisUrl), topology: describeTopology(parseRedisUrl(this.ctx.config.redisUrl)), waitReplicas: this.ctx.config.redisWaitReplicas },
      },
      threads: s.threads,
      inFlight: { count: s.inFlight.length, jobs },
      queues,
      latencyWindowMs: snapshot.windowMs,
      stats: s.stats,
      alerts: this.metrics.alerts.states().filter((a) => a.firing),
    };
  }
}

/**
 * The metrics service (always: `troupe stats` reads what it stores) and, unless --http-port is
 * 0, the HTTP endpoint that serves it. The two are built per supervisor, in this order; the
 * endpoint finds its supervisor's metrics by the supervisor's events object.
 */
export function observabilityServices(config: SupervisorConfig): ServiceFactory[] {
  const metricsOf = new WeakMap<ServiceContext['events'], MetricsService>();
  const metrics: ServiceFactory = (ctx) => {
    const service = new MetricsService(ctx);
    metricsOf.set(ctx.events, service);
    return service;
  };
  const http: ServiceFactory = (ctx) => {
    const service = metricsOf.get(ctx.events);
    if (!service) throw new Error('the HTTP endpoint needs the metrics service, built before it for the same supervisor');
    return new HttpService(ctx, service);
  };
  return config.httpPort > 0 ? [metrics, http] : [metrics];
}
