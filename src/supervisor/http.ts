import { describeTopology, parseRedisUrl, redactRedisUrl } from '../queue/redis-url.js';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { PROMETHEUS_CONTENT_TYPE } from '../metrics/prometheus.js';
import { ConfigError, type SupervisorConfig } from './config.js';
import { GuardedHttpServer, jsonReply, type Handler, type HttpRequest, type Reply } from './http-server.js';
import { API_DOCS_PATHS, apiDocsHandler } from './api-docs.js';
import { checkHealth, type HealthReport } from './health.js';
import { MetricsService } from './metrics-service.js';
import { openApiDocument } from './openapi.js';
import type { ServiceContext, ServiceFactory, SupervisorService } from './service.js';

/** /status lists this many in-flight jobs (oldest first); `count` has the full number. */
const MAX_LISTED_JOBS = 100;

export function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch (err) {
    // Only the OpenAPI document's info.version depends on it; the endpoint works without.
    return `unknown (${err instanceof Error ? err.message : String(err)})`;
  }
}

/** Served without the token: probes and scrapes (documented in docs/observability.md) and the API description. */
export const OPEN_PATHS: ReadonlySet<string> = new Set(['/metrics', '/health', '/ready', ...API_DOCS_PATHS]);

/** The probes, which keep a few slots beyond --http-max-concurrent (PROBE_SLOTS). */
const PROBE_PATHS: ReadonlySet<string> = new Set(['/health', '/ready']);

/** Accept-Encoding names gzip without refusing it (q=0). */
export function acceptsGzip(header: string | string[] | undefined): boolean {
  const value = Array.isArray(header) ? header.join(',') : (header ?? '');
  return value.split(',').some((part) => {
    const [coding, ...params] = part.trim().toLowerCase().split(';');
    if (coding !== 'gzip' && coding !== '*') return false;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  });
}

/** The supervisor's own routes; everything else goes to the extension, if any. */
const SUPERVISOR_PATHS: ReadonlySet<string> = new Set(['/metrics', '/health', '/ready', '/status']);

/** More routes on the same server (the dashboard), with their part of the OpenAPI document. */
export interface HttpExtension {
  handlers: Handler[];
  /** OpenAPI path items to merge into /openapi.json. */
  paths: Record<string, object>;
  /** Paths of the extension served without the token (its style sheet and script). */
  openPaths?: ReadonlySet<string>;
  loginPage?(next: string, problem?: string): string;
  start?(): Promise<void>;
  stop?(): Promise<void>;
}

/**
 * /metrics, /health, /ready, /status and /openapi.json on --http-host:--http-port, plus the
 * dashboard when --dashboard is on. A port that is taken (another supervisor on this machine,
 * most often) is a warning, not a failed start: the jobs matter more than this process's
 * endpoint, and `troupe stats` still sees its metrics through Redis. An address other machines
 * can reach without --http-token is refused (by resolveConfig first, and here again).
 */
export class HttpService implements SupervisorService {
  readonly name = 'http';
  private server: GuardedHttpServer | undefined;
  private version: string | undefined;
  /**
   * The health check in progress: /health and /ready asked at once share it, so a flood of
   * probes sends one PING and one INFO to Redis, not one each on the connection that renews leases.
   */
  private checking: Promise<HealthReport> | undefined;

  constructor(
    private readonly ctx: ServiceContext,
    private readonly metrics: MetricsService,
    private readonly extension?: HttpExtension,
  ) {}

  /** Where it listens, or undefined when it does not (port taken, or not started). */
  get address(): { host: string; port: number } | undefined {
    return this.server?.address;
  }

  async start(): Promise<void> {
    const { httpHost: host, httpPort: port, httpToken: token } = this.ctx.config;
    const extension = this.extension;
    const server = new GuardedHttpServer({
      what: 'the HTTP endpoint',
      host,
      port,
      token,
      logger: this.ctx.logger,
      handlers: [(req) => this.route(req), apiDocsHandler(() => this.document()), ...(extension?.handlers ?? [])],
      isOpen: (path) => OPEN_PATHS.has(path) || extension?.openPaths?.has(path) === true,
      maxConcurrent: this.ctx.config.httpMaxConcurrent,
      isProbe: (path) => PROBE_PATHS.has(path),
      onRefused: () => (this.metrics.httpRefused += 1),
      ...(extension?.loginPage ? { loginPage: extension.loginPage } : {}),
    });
    try {
      await server.listen();
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      const hint = code === 'EADDRINUSE' ? 'another process uses it; give this supervisor its own --http-port, or 0 to turn HTTP off' : 'check --http-host and --http-port';
      this.ctx.logger.warn({ err, host, port }, `HTTP endpoint not started: ${code ?? (err as Error).message} on ${host}:${port} (${hint}); jobs run as usual`);
      return;
    }
    this.server = server;
    await extension?.start?.();
    this.ctx.logger.info(
      { host, port: server.address?.port, token: token ? 'required' : 'none (loopback only)', dashboard: extension !== undefined },
      `HTTP endpoint on ${server.url}/metrics${extension ? `, dashboard on ${server.url}/` : ''}`,
    );
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await server.close();
    await this.extension?.stop?.();
  }

  private async route(req: HttpRequest): Promise<Reply | undefined> {
    const endpoint = SUPERVISOR_PATHS.has(req.path);
    if (!endpoint) return undefined;
    if (req.method === 'POST') return jsonReply(405, { error: `${req.path} takes GET only` }, { allow: 'GET, HEAD' });
    switch (req.path) {
      case '/metrics': {
        const gzip = acceptsGzip(req.headers['accept-encoding']);
        const headers: Record<string, string> = gzip ? { 'content-encoding': 'gzip', vary: 'accept-encoding' } : { vary: 'accept-encoding' };
        return { status: 200, type: PROMETHEUS_CONTENT_TYPE, body: this.metrics.prometheus(Date.now(), gzip), headers };
      }
      case '/health': {
        const health = await this.health();
        return jsonReply(health.status === 'ok' ? 200 : 503, health);
      }
      case '/ready': {
        const health = await this.health();
        const shuttingDown = this.ctx.status().shuttingDown;
        // A copy: the report is shared with the other requests of the same check.
        const reasons = shuttingDown ? [...health.reasons, 'supervisor: shutting down, no longer leasing'] : health.reasons;
        const ready = reasons.length === 0;
        return jsonReply(ready ? 200 : 503, { ...health, reasons, status: ready ? 'ok' : 'unhealthy', shuttingDown });
      }
      case '/status':
        return jsonReply(200, this.status());
      default:
        return undefined;
    }
  }

  private health(): Promise<HealthReport> {
    this.checking ??= checkHealth(this.ctx, this.metrics.loopLag.lagMs).finally(() => (this.checking = undefined));
    return this.checking;
  }

  private document(): object {
    this.version ??= packageVersion();
    return openApiDocument(this.version, this.extension?.paths ?? {});
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
      redisMemory: s.redisMemory ?? null,
      outcomeWrites: s.outcomeWrites,
    };
  }
}

/**
 * The metrics service (always: `troupe stats` reads what it stores) and, unless --http-port is
 * 0, the HTTP endpoint that serves it, with `extend`'s routes (the dashboard) beside its own. The two are built per supervisor, in this order; the
 * endpoint finds its supervisor's metrics by the supervisor's events object.
 */
export function observabilityServices(config: SupervisorConfig, extend?: (ctx: ServiceContext) => HttpExtension): ServiceFactory[] {
  const metricsOf = new WeakMap<ServiceContext['events'], MetricsService>();
  const metrics: ServiceFactory = (ctx) => {
    const service = new MetricsService(ctx);
    metricsOf.set(ctx.events, service);
    return service;
  };
  const http: ServiceFactory = (ctx) => {
    const service = metricsOf.get(ctx.events);
    if (!service) throw new Error('the HTTP endpoint needs the metrics service, built before it for the same supervisor');
    return new HttpService(ctx, service, extend?.(ctx));
  };
  return config.httpPort > 0 ? [metrics, http] : [metrics];
}
